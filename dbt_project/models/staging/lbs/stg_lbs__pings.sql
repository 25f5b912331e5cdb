-- LBS pings that had arrived by the run date.
select
    ping_id,
    device_id_hmac,
    device_id_status = 'ok' as is_device_linkable,
    pinged_at,
    pinged_date,
    lat,
    lon,
    accuracy_m,
    source,
    store_id,
    dt as loaded_date
from ({{ arrived_by_run_date(source('lbs', 'lbs_pings')) }}) as pings
