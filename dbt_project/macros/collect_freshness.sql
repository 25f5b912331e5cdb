{#- Source freshness counted to the end of the run date, not to the wall clock: a night evaluates its
    own business day, so a backfill, a re-run or the demo's past dates are judged as their night
    would have been, and a feed is stale when its newest rows are older than the night expects.
    Overrides dbt's default (dispatch looks in the root project first); the nightly gold gate counts
    the same way from the thresholds declared in the sources' YAML (databank.quality.freshness). -#}
{% macro default__collect_freshness(source, loaded_at_field, filter) %}
    {% call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
        select
            max({{ loaded_at_field }}) as max_loaded_at,
            cast({{ add_days(run_date(), 1) }} as timestamp) as snapshotted_at
        from {{ source }}
        {% if filter %}where {{ filter }}{% endif %}
    {%- endcall %}
    {{ return(load_result('collect_freshness')) }}
{% endmacro %}
