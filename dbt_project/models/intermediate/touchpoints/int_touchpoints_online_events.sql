-- Online behaviour events as AIPL touchpoints. The brand comes from the shop (follows, coupons,
-- live streams, samples), the product (views, favourites, carts, reviews) or the keyword (searches);
-- logins and searches of no watched keyword belong to no brand and are left out.
with events as (
    select * from {{ ref('stg_online__events') }}
    where event_type != 'login'
),

keywords as (
    select
        lower(keyword) as keyword,
        brand_id,
        keyword_type
    from {{ ref('stg_reference__keywords') }}
)

select
    'online_events' as source_feed,
    events.event_id as source_record_id,
    coalesce(events.brand_id, products.brand_id, keywords.brand_id) as brand_id,
    case
        when events.event_type = 'search' then {{ dbt.concat(["'search_'", "keywords.keyword_type"]) }}
        when events.event_type = 'review' and events.rating >= {{ var('aipl_positive_review_min_rating') }}
            then 'review_positive'
        when events.event_type = 'review' then 'review_other'
        else events.event_type
    end as behaviour,
    events.event_at as touched_at,
    events.event_date as touched_date,
    'online' as channel,
    events.platform,
    cast(null as {{ dbt.type_string() }}) as store_id,
    cast(null as {{ dbt.type_string() }}) as campaign_id,
    events.sku,
    events.coupon_id,
    cast(null as double) as amount,
    cast(null as bigint) as quantity,
    cast(null as {{ dbt.type_string() }}) as related_record_id,
    events.loaded_date
from events
left join {{ ref('stg_reference__products') }} as products
    on events.sku = products.sku
left join keywords
    on lower(trim(events.search_keyword)) = keywords.keyword
where coalesce(events.brand_id, products.brand_id, keywords.brand_id) is not null
