{#- Each record carrying a linkable identifier, resolved to the consumer its identifiers map to in
    the identity map. `where` narrows the identifier sightings read (one night, a set of records).
    `count_matches` adds consumers_matched, how many consumers they map to (always 1: a record's
    identifiers are linked), for the models whose tests check it; a distinct count per record costs
    a third of the resolution, so the models that only need the consumer leave it out. -#}
{% macro resolve_records(identifiers, identity_map, where="1 = 1", count_matches=false) -%}
    select
        ids.source_feed,
        ids.source_record_id,
        min(map.one_id) as one_id
        {%- if count_matches %},
        count(distinct map.one_id) as consumers_matched
        {%- endif %}
    from {{ identifiers }} as ids
    inner join {{ identity_map }} as map
        on ids.identifier_key = map.identifier_key
    where ids.is_linkable and ({{ where }})
    group by ids.source_feed, ids.source_record_id
{%- endmacro %}

{#- The LBS pings resolved to their consumers. On a night, only the night's sightings, which
    int_night_records_resolved has resolved already: resolving every ping of the history would cost
    the history, and the earlier nights resolved theirs. A model calling this declares
    `-- depends_on: {{ ref('int_night_records_resolved') }}`. -#}
{% macro resolve_lbs_pings() -%}
    {%- if is_incremental() -%}
    select * from {{ ref('int_night_records_resolved') }}
    where source_feed = 'lbs_pings'
    {%- else -%}
    {{ resolve_records(
        ref('stg_identity__identifiers'),
        ref('stg_identity__identity_map'),
        "ids.source_feed = 'lbs_pings'",
    ) }}
    {%- endif -%}
{%- endmacro %}
