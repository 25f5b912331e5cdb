{#- The run date (var run_date: the local business day the build is for) as a typed date literal. -#}
{% macro run_date() -%}
    cast('{{ var("run_date") }}' as date)
{%- endmacro %}
