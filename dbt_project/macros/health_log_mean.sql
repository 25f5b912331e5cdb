{#- Logarithmic mean L(a, b) = (a - b) / (ln a - ln b), with L(a, a) = a: the weight of log-mean
    Divisia (LMDI) decompositions, for positive a and b. Values equal to twelve significant digits
    (sums of the same amounts added in another order differ in the last bits) take the arithmetic
    mean, which is the log mean to within 1e-24 relative there; dividing two rounding errors would
    not be. -#}
{% macro health_log_mean(a, b) -%}
    case
        when abs({{ a }} - {{ b }}) <= 1e-12 * greatest(abs({{ a }}), abs({{ b }}))
            then ({{ a }} + {{ b }}) / 2
        else ({{ a }} - {{ b }}) / ln({{ a }} / {{ b }})
    end
{%- endmacro %}
