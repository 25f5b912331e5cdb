-- The records delivered on the run date, resolved to their consumers: what a night adds to
-- fct_touchpoints. A table: the night's data tests and fct_touchpoints read it once it is computed.
{{ config(materialized='table') }}

{{ resolve_records(
    ref('stg_identity__identifiers'),
    ref('stg_identity__identity_map'),
    "ids.loaded_date = " ~ run_date(),
    count_matches=true,
) }}
