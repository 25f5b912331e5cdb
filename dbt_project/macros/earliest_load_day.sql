{#- The earliest load day (silver's dt, a model's loaded_date) that can hold a record of a local day
    `days` days before the run date or later. Ingestion refuses an event time later than the end of
    its delivery day plus ingest_future_tolerance_minutes, so a record is loaded at most that many
    days, rounded up, before its own local day. -#}
{% macro earliest_load_day(days) -%}
    {%- set lead_days = (var('ingest_future_tolerance_minutes') + 1439) // 1440 -%}
    {{ add_days(run_date(), -(days + lead_days)) }}
{%- endmacro %}
