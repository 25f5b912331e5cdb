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
    rating
from {{ source('online', 'online_events') }}
