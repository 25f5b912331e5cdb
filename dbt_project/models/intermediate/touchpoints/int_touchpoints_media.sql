-- Media events as AIPL touchpoints, of the campaign's brand. Interactive screens stand in stores.
select
    'media_exposures' as source_feed,
    exposures.exposure_id as source_record_id,
    campaigns.brand_id,
    case exposures.event_type
        when 'video_complete' then 'video_view'
        else exposures.event_type
    end as behaviour,
    exposures.event_at as touched_at,
    exposures.event_date as touched_date,
    case when exposures.event_type = 'interactive' then 'store' else 'media' end as channel,
    exposures.media as platform,
    exposures.store_id,
    exposures.campaign_id,
    cast(null as {{ dbt.type_string() }}) as sku,
    cast(null as {{ dbt.type_string() }}) as coupon_id,
    cast(null as double) as amount,
    cast(null as bigint) as quantity,
    cast(null as {{ dbt.type_string() }}) as related_record_id,
    exposures.loaded_date
from {{ ref('stg_media__exposures') }} as exposures
inner join {{ ref('stg_reference__campaigns') }} as campaigns
    on exposures.campaign_id = campaigns.campaign_id
