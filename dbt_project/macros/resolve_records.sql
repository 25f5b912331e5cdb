{#- Each record carrying a linkable identifier, resolved to the consumer its identifiers map to in
    the identity map. `where` narrows the identifier sightings read (one night, a set of records). -#}
{% macro resolve_records(identifiers, identity_map, where="1 = 1") -%}
    select
        ids.source_feed,
        ids.source_record_id,
        min(map.one_id) as one_id,
        count(distinct map.one_id) as consumers_matched
    from {{ identifiers }} as ids
    inner join {{ identity_map }} as map
        on ids.identifier_key = map.identifier_key
    where ids.is_linkable and ({{ where }})
    group by ids.source_feed, ids.source_record_id
{%- endmacro %}
