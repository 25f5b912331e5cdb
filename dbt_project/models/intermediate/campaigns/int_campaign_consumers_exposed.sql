-- Each consumer a campaign reached as of the run date: when it first reached them and how often.
-- Any media event of the campaign (click, completed video and live view included) marks its
-- consumer as reached; only impressions and in-store screen plays count as exposures, because the
-- other events follow an impression already counted.
-- A table: the other campaign models and the data tests each read it, and as a view each would scan
-- the media touchpoints again.
{{ config(materialized='table') }}

select
    campaign_id,
    one_id,
    brand_id,
    min(touched_at) as first_exposed_at,
    min(touched_date) as first_exposed_date,
    -- The attribution window: from first exposure through campaign_attribution_days - 1 days after.
    {{ add_days('min(touched_date)', var('campaign_attribution_days') - 1) }}
        as attribution_end_date,
    max(touched_date) as last_exposed_date,
    count(case when behaviour in ('impression', 'interactive') then 1 end) as exposures,
    count(case when behaviour = 'click' then 1 end) as clicks,
    count(*) as media_events
from {{ ref('fct_touchpoints') }}
where source_feed = 'media_exposures'
    and campaign_id is not null
    and touched_date <= {{ run_date() }}
group by campaign_id, one_id, brand_id
