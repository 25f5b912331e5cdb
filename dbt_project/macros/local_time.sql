{#- A UTC timestamp as wall-clock time in the business time zone (var business_timezone), for local
    hours and days. DuckDB: timezone() on a TIMESTAMP WITH TIME ZONE gives the naive local time (a
    naive TIMESTAMP is cast first, read in the session zone, UTC on our machines). Spark:
    from_utc_timestamp reads the value as UTC, which holds because sessions run with
    spark.sql.session.timeZone = UTC (databank.spark_session). -#}
{% macro local_time(ts) -%}
    {{ return(adapter.dispatch('local_time', 'databank')(ts)) }}
{%- endmacro %}

{% macro default__local_time(ts) -%}
    from_utc_timestamp({{ ts }}, '{{ var("business_timezone") }}')
{%- endmacro %}

{% macro duckdb__local_time(ts) -%}
    timezone('{{ var("business_timezone") }}', cast({{ ts }} as timestamptz))
{%- endmacro %}

{% macro spark__local_time(ts) -%}
    from_utc_timestamp({{ ts }}, '{{ var("business_timezone") }}')
{%- endmacro %}
