{#- The touches of the relation `touches` (the `columns` of fct_touchpoints) with the consumer each
    resolves to in `resolved` (resolve_records' rows), one_id last. -#}
{% macro resolved_touches(touches, resolved, columns) -%}
    select
        {{ column_list(columns, touches) | indent(8) }},
        {{ resolved }}.one_id
    from {{ touches }}
    inner join {{ resolved }}
        on {{ touches }}.source_feed = {{ resolved }}.source_feed
        and {{ touches }}.source_record_id = {{ resolved }}.source_record_id
{%- endmacro %}
