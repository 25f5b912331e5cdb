-- Coupons of the campaign's brand that consumers it reached claimed in the attribution window
-- (from the moment of first exposure to first exposure day + campaign_attribution_days - 1), and
-- whether each was redeemed. Coupon ids name a brand's coupon of a month ('B01-202605-CP'), shared
-- by every claimant, so a claim is one consumer's coupon_id, redeemed when that consumer has a
-- coupon_redeem of the same coupon_id at or after the first claim in the window, up to the run
-- date.
-- A table: its data tests and campaign_performance each read it, and as a view each would scan the
-- touchpoints again.
{{ config(materialized='table') }}

with touches as (
    select
        one_id,
        brand_id,
        behaviour,
        coupon_id,
        touched_at,
        touched_date
    from {{ ref('fct_touchpoints') }}
    where behaviour in ('coupon_claim', 'coupon_redeem')
        and coupon_id is not null
        and touched_date <= {{ run_date() }}
),

claims as (
    select
        exposed.campaign_id,
        exposed.brand_id,
        exposed.one_id,
        touches.coupon_id,
        min(touches.touched_at) as claimed_at,
        min(touches.touched_date) as claimed_date
    from {{ ref('int_campaign_consumers_exposed') }} as exposed
    inner join touches
        on {{ in_attribution_window('exposed', 'touches') | indent(4) }}
        and touches.behaviour = 'coupon_claim'
    group by exposed.campaign_id, exposed.brand_id, exposed.one_id, touches.coupon_id
)

select
    claims.campaign_id,
    claims.brand_id,
    claims.one_id,
    claims.coupon_id,
    claims.claimed_at,
    claims.claimed_date,
    min(redemptions.touched_date) as redeemed_date,
    count(redemptions.touched_at) > 0 as is_redeemed
from claims
left join touches as redemptions
    on claims.one_id = redemptions.one_id
    and claims.coupon_id = redemptions.coupon_id
    and redemptions.behaviour = 'coupon_redeem'
    and redemptions.touched_at >= claims.claimed_at
group by
    claims.campaign_id,
    claims.brand_id,
    claims.one_id,
    claims.coupon_id,
    claims.claimed_at,
    claims.claimed_date
