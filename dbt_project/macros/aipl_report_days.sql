{#- The days a daily AIPL mart covers: the run date on a night; on a full build, every day from the
    first state spell through the run date. -#}
{% macro aipl_report_days(day_column) -%}
    select calendar_date as {{ day_column }}
    from {{ ref('int_calendar_days') }}
    {%- if is_incremental() %}
    where calendar_date = {{ run_date() }}
    {%- else %}
    where calendar_date >= (select min(valid_from) from {{ ref('aipl_state_history') }})
    {%- endif %}
{%- endmacro %}
