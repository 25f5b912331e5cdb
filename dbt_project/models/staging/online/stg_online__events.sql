-- Online behaviour events that had arrived by the run date.
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
from ({{ arrived_by_run_date(source('online', 'online_events')) }}) as events
