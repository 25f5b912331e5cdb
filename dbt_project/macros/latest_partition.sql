{#- Rows of the latest `dt` partition on or before the run date: the current snapshot of a table
    that keeps one per day (reference data, the identity map). -#}
{% macro latest_partition(relation, partition_column="dt") -%}
    select * from {{ relation }}
    where {{ partition_column }} = (
        select max({{ partition_column }}) from {{ relation }}
        where {{ partition_column }} <= {{ run_date() }}
    )
{%- endmacro %}

{#- Rows of a table partitioned by the day they arrived (`dt`) that had arrived by the run date: a
    re-run of an earlier night sees only what had arrived by then. -#}
{% macro arrived_by_run_date(relation, partition_column="dt") -%}
    select * from {{ relation }}
    where {{ partition_column }} <= {{ run_date() }}
{%- endmacro %}
