-- As of the run date: a re-run of an earlier night sees only what had arrived by then.
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
from {{ source('lbs', 'lbs_pings') }}
where dt <= {{ run_date() }}
