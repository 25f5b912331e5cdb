-- Identifier sightings of every feed's records that had arrived by the run date.
select
    feed as source_feed,
    record_id as source_record_id,
    identifier_type,
    identifier_namespace,
    identifier_hmac,
    {{ identifier_key('identifier_type', 'identifier_hmac') }} as identifier_key,
    identifier_status = 'ok' as is_linkable,
    seen_at,
    seen_date,
    dt as loaded_date
from ({{ arrived_by_run_date(source('identity', 'identifiers')) }}) as identifiers
