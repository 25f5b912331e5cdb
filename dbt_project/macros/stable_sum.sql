{#- Sums and means of floats that come out the same whatever order the rows arrive in. Float
    addition is not associative, and a parallel scan feeds an aggregate its rows in a different
    order on every run, so a plain sum or avg of doubles can differ in its last bits between two
    builds of the same data. Each value is rounded to `scale` decimal places (12: far below a cent or
    a millimetre) and added up as a decimal, exactly; the result is a double, as a float sum is.
    `over`, when given, is the window clause (without "over") of a window aggregate. -#}
{% macro stable_sum(expression, over=none, scale=12) -%}
    cast(sum(cast({{ expression }} as decimal(38, {{ scale }}))){{ _stable_window(over) }} as double)
{%- endmacro %}

{% macro stable_avg(expression, over=none, scale=12) -%}
    cast(avg(cast({{ expression }} as decimal(38, {{ scale }}))){{ _stable_window(over) }} as double)
{%- endmacro %}

{% macro _stable_window(over) -%}
    {%- if over %} over ({{ over }}){% endif -%}
{%- endmacro %}
