-- Store visits detected from LBS dwell, as AIPL touchpoints of the store's brand.
select
    'lbs_pings' as source_feed,
    visit_id as source_record_id,
    brand_id,
    'store_visit' as behaviour,
    visit_started_at as touched_at,
    visit_date as touched_date,
    'store' as channel,
    'lbs' as platform,
    store_id,
    cast(null as {{ dbt.type_string() }}) as campaign_id,
    cast(null as {{ dbt.type_string() }}) as sku,
    cast(null as {{ dbt.type_string() }}) as coupon_id,
    cast(null as double) as amount,
    cast(null as bigint) as quantity,
    cast(null as {{ dbt.type_string() }}) as related_record_id,
    loaded_date
from {{ ref('int_store_visits') }}
