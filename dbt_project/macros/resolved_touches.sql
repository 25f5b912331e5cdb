{#- The touches of the relation `touches` (the `columns` of fct_touchpoints) with the consumer each
    resolves to in `resolved` (resolve_records' rows), one_id last. `keep_unresolved`: a touch whose
    record resolves to no one stays, with a null one_id, for forget_unresolved_touches to delete (an
    incremental merge replaces the rows it is given and keeps the others). -#}
{% macro resolved_touches(touches, resolved, columns, keep_unresolved=false) -%}
    select
        {{ column_list(columns, touches) | indent(8) }},
        {{ resolved }}.one_id
    from {{ touches }}
    {{ 'left' if keep_unresolved else 'inner' }} join {{ resolved }}
        on {{ touches }}.source_feed = {{ resolved }}.source_feed
        and {{ touches }}.source_record_id = {{ resolved }}.source_record_id
{%- endmacro %}

{#- Post-hook of fct_touchpoints: the touches a night re-resolved to no one (resolved_touches'
    `keep_unresolved`) are deleted once the night's rows are merged in. -#}
{% macro forget_unresolved_touches() -%}
    {% if is_incremental() -%}
        delete from {{ this }} where one_id is null
    {%- endif %}
{%- endmacro %}
