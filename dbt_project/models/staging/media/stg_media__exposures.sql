-- As of the run date: a re-run of an earlier night sees only what had arrived by then.
select
    exposure_id,
    campaign_id,
    media,
    event_type,
    event_at,
    event_date,
    store_id,
    account_platform,
    dt as loaded_date
from {{ source('media', 'media_exposures') }}
where dt <= {{ run_date() }}
