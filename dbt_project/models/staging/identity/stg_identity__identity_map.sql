-- The map as the run date's night left it: the current consumer of every linkable identifier.
select
    node as identifier_key,
    identifier_type,
    identifier_hmac,
    one_id,
    one_id_created,
    first_seen,
    last_seen
from ({{ latest_partition(source('identity', 'identity_map')) }}) as snapshot
