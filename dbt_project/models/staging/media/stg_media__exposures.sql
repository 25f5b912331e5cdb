-- Media exposure events that had arrived by the run date.
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
from ({{ arrived_by_run_date(source('media', 'media_exposures')) }}) as exposures
