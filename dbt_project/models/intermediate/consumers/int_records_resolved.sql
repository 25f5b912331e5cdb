-- The consumer of every silver record that carries a linkable identifier: the one_id its identifiers
-- map to in the current identity map (so records of earlier days follow later merges).
select
    ids.source_feed,
    ids.source_record_id,
    min(map.one_id) as one_id,
    count(distinct map.one_id) as consumers_matched
from {{ ref('stg_identity__identifiers') }} as ids
inner join {{ ref('stg_identity__identity_map') }} as map
    on ids.identifier_key = map.identifier_key
where ids.is_linkable
group by ids.source_feed, ids.source_record_id
