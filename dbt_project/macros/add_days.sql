{#- A date `days` local days after `date_expr`, as a date: dbt.dateadd returns a timestamp on DuckDB
    and on Spark, and comparing timestamps with dates would shift by the session time zone. -#}
{% macro add_days(date_expr, days) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}
