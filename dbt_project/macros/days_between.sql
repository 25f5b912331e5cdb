{#- Whole days from `start_date` to `end_date`, as a bigint on every target: dbt.datediff gives a
    bigint on DuckDB and an int on Spark, and the marts' contracts declare day counts bigint. -#}
{% macro days_between(start_date, end_date) -%}
    cast({{ dbt.datediff(start_date, end_date, 'day') }} as bigint)
{%- endmacro %}
