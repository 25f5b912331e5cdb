-- Paid media campaigns with their brand and flight length, for BI to slice campaign results by.
select
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaigns.brand_id,
    brands.brand_name,
    brands.brand_name_en,
    campaigns.media,
    campaigns.start_date,
    campaigns.end_date,
    -- Both ends of the flight are days on air. Guarded: dbt-spark's datediff fails on null dates.
    case
        when campaigns.start_date is not null and campaigns.end_date is not null
            then {{ days_between('campaigns.start_date', 'campaigns.end_date') }} + 1
    end as flight_days,
    campaigns.cost
from {{ ref('stg_reference__campaigns') }} as campaigns
left join {{ ref('stg_reference__brands') }} as brands
    on campaigns.brand_id = brands.brand_id
