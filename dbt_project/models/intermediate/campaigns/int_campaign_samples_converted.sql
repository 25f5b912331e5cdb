-- Consumers a campaign reached who received a sample of its brand in the attribution window (from
-- the moment of first exposure to first exposure day + campaign_attribution_days - 1), and whether
-- a purchase of the brand followed a sample: ordered after the sample's time and fewer than
-- sample_purchase_days days after its day, up to the run date. Purchases are net of full refunds as
-- seen from the run date (docs/aipl.md), so a bought-then-fully-refunded line does not convert a sample.
-- A table: its data tests and campaign_performance each read it, and as a view each would scan the
-- touchpoints again.
{{ config(materialized='table') }}

with samples as (
    select
        exposed.campaign_id,
        exposed.brand_id,
        exposed.one_id,
        touches.touchpoint_id,
        touches.touched_at as sampled_at,
        touches.touched_date as sampled_date,
        {{ add_days('touches.touched_date', var('sample_purchase_days') - 1) }} as purchase_window_end_date
    from {{ ref('int_campaign_consumers_exposed') }} as exposed
    inner join {{ ref('fct_touchpoints') }} as touches
        on {{ in_attribution_window('exposed', 'touches') | indent(4) }}
        and touches.behaviour = 'sample_received'
        and touches.touched_date <= {{ run_date() }}
),

purchases as (
    select
        one_id,
        brand_id,
        ordered_at,
        order_date
    from {{ ref('fct_order_lines') }}
    where line_type = 'sale'
        and one_id is not null
        and order_date <= {{ run_date() }}
        and (fully_refunded_date is null or fully_refunded_date > {{ run_date() }})
)

select
    samples.campaign_id,
    samples.brand_id,
    samples.one_id,
    min(samples.sampled_date) as first_sampled_date,
    count(distinct samples.touchpoint_id) as samples_received,
    min(purchases.order_date) as first_purchase_date,
    count(purchases.ordered_at) > 0 as has_purchased
from samples
left join purchases
    on samples.one_id = purchases.one_id
    and samples.brand_id = purchases.brand_id
    and purchases.ordered_at > samples.sampled_at
    and purchases.order_date <= samples.purchase_window_end_date
group by samples.campaign_id, samples.brand_id, samples.one_id
