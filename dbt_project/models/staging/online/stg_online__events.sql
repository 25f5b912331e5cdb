-- As of the run date: a re-run of an earlier night sees only what had arrived by then.
select
    event_id,
    session_id,
    platform,
    event_type,
    event_at,
    event_date,
    brand_id,
    sku,
    search_keyword,
    coupon_id,
    rating,
    dt as loaded_date
from {{ source('online', 'online_events') }}
where dt <= {{ run_date() }}
