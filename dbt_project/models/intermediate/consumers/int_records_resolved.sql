-- The consumer of every silver record that carries a linkable identifier: the one_id its identifiers
-- map to in the current identity map (so records of earlier days follow later merges).
{{ resolve_records(
    ref('stg_identity__identifiers'), ref('stg_identity__identity_map'), count_matches=true
) }}
