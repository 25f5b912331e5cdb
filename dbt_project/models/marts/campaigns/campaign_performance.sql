-- One row per campaign with its results as of the run date (docs/aipl.md, "Campaign performance"),
-- rebuilt each night. Delivery counts every event the media logged, identified or not; reach,
-- frequency, moves, coupons and samples count the consumers the events resolve to. Moves into I or
-- P are set against the brand's consumers the campaign never reached, weighted to the exposed
-- consumers' mix of baseline states (see int_campaign_consumers_moved).

with delivery as (
    select
        campaign_id,
        count(case when event_type = 'impression' then 1 end) as impressions,
        count(case when event_type = 'click' then 1 end) as clicks
    from {{ ref('stg_media__exposures') }}
    where event_date <= {{ run_date() }}
        and loaded_date <= {{ run_date() }}
    group by campaign_id
),

reach as (
    select
        campaign_id,
        count(*) as reach,
        cast(sum(exposures) as bigint) as identified_exposures,
        min(first_exposed_date) as first_exposure_date,
        -- Complete once the window of the last consumer reached has closed. Computed here, where
        -- the date is never null: dbt-spark's dateadd fails on null dates.
        {{ add_days('max(first_exposed_date)', var('campaign_attribution_days') - 1) }} <= {{ run_date() }}
            as is_attribution_complete
    from {{ ref('int_campaign_consumers_exposed') }}
    group by campaign_id
),

-- Exposed and control consumers per baseline state (none, O, A): the strata of the comparison.
strata as (
    select
        campaign_id,
        baseline_state,
        count(case when audience = 'exposed' then 1 end) as exposed_base,
        count(case when audience = 'exposed' and is_moved then 1 end) as exposed_moved,
        count(case when audience = 'control' then 1 end) as control_base,
        count(case when audience = 'control' and is_moved then 1 end) as control_moved
    from {{ ref('int_campaign_consumers_moved') }}
    group by campaign_id, baseline_state
),

-- The control rate of each stratum weighted by its exposed consumers; strata without control
-- consumers carry no rate, so the weights are the exposed consumers of strata that have one.
moves as (
    select
        campaign_id,
        cast(sum(exposed_base) as bigint) as exposed_base,
        cast(sum(exposed_moved) as bigint) as exposed_moved,
        cast(sum(control_base) as bigint) as control_base,
        cast(sum(control_moved) as bigint) as control_moved,
        cast(sum(case when control_base > 0 then exposed_base else 0 end) as bigint)
            as weighted_exposed_base,
        {{ stable_sum("case
            when control_base > 0 then exposed_base * cast(control_moved as double) / control_base
            else 0
        end") }} as weighted_control_moved
    from strata
    group by campaign_id
),

coupons as (
    select
        campaign_id,
        count(*) as coupons_claimed,
        count(case when is_redeemed then 1 end) as coupons_redeemed
    from {{ ref('int_campaign_coupons_claimed') }}
    group by campaign_id
),

samples as (
    select
        campaign_id,
        count(*) as sampled_consumers,
        count(case when has_purchased then 1 end) as sampled_consumers_purchased
    from {{ ref('int_campaign_samples_converted') }}
    group by campaign_id
),

joined as (
    select
        campaigns.campaign_id,
        campaigns.brand_id,
        campaigns.media,
        campaigns.cost,
        reach.first_exposure_date,
        coalesce(reach.is_attribution_complete, false) as is_attribution_complete,
        moves.weighted_control_moved / nullif(moves.weighted_exposed_base, 0) as control_move_rate,
        {{ zero_if_missing('delivery', ['impressions', 'clicks']) | indent(8) }},
        {{ zero_if_missing('reach', ['reach', 'identified_exposures']) | indent(8) }},
        {{ zero_if_missing('moves', [
            'exposed_base', 'exposed_moved', 'control_base', 'control_moved',
        ]) | indent(8) }},
        {{ zero_if_missing('coupons', ['coupons_claimed', 'coupons_redeemed']) | indent(8) }},
        {{ zero_if_missing('samples', ['sampled_consumers', 'sampled_consumers_purchased']) | indent(8) }}
    from {{ ref('dim_campaigns') }} as campaigns
    left join delivery on campaigns.campaign_id = delivery.campaign_id
    left join reach on campaigns.campaign_id = reach.campaign_id
    left join moves on campaigns.campaign_id = moves.campaign_id
    left join coupons on campaigns.campaign_id = coupons.campaign_id
    left join samples on campaigns.campaign_id = samples.campaign_id
),

measured as (
    select
        *,
        cast(exposed_moved as double) / nullif(exposed_base, 0) as exposed_move_rate,
        -- Exposed movers beyond what the control rate predicts for the same number of consumers.
        exposed_moved - control_move_rate * exposed_base as incremental_moved_consumers
    from joined
)

select
    campaign_id,
    {{ run_date() }} as as_of_date,
    brand_id,
    media,
    impressions,
    clicks,
    cast(clicks as double) / nullif(impressions, 0) as click_through_rate,
    reach,
    identified_exposures,
    cast(identified_exposures as double) / nullif(reach, 0) as frequency,
    first_exposure_date,
    is_attribution_complete,
    exposed_base,
    exposed_moved,
    exposed_move_rate,
    control_base,
    control_moved,
    control_move_rate,
    incremental_moved_consumers,
    cost,
    cost / nullif(exposed_moved, 0) as cost_per_moved_consumer,
    case
        when incremental_moved_consumers > 0 then cost / incremental_moved_consumers
    end as cost_per_incremental_moved_consumer,
    coupons_claimed,
    coupons_redeemed,
    cast(coupons_redeemed as double) / nullif(coupons_claimed, 0) as coupon_redemption_rate,
    sampled_consumers,
    sampled_consumers_purchased,
    cast(sampled_consumers_purchased as double) / nullif(sampled_consumers, 0)
        as sample_to_purchase_rate
from measured
