{#- A sum of counts, typed as a count (bigint) as the marts' contracts declare it: DuckDB sums a
    bigint into a hugeint (int128), a type Spark and Delta readers do not have. -#}
{% macro count_sum(expression) -%}
    cast(sum({{ expression }}) as bigint)
{%- endmacro %}
