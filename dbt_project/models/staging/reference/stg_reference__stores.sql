-- The latest snapshot delivered on or before the run date.
select
    store_id,
    brand_id,
    store_name,
    city,
    lat,
    lon,
    store_type,
    opened_on,
    closed_on,
    pos_system,
    has_interactive_screen
from ({{ latest_partition(source('reference', 'stores')) }}) as snapshot
