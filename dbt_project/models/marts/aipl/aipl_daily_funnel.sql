{{ config(materialized='incremental', unique_key=['brand_id', 'funnel_date']) }}
-- Incremental: a night adds its own day; earlier days' funnels do not change.

with days as (
    {{ aipl_report_days('funnel_date') | indent(4) }}
),

states as (
    select
        spells.brand_id,
        days.funnel_date,
        spells.state
    from days
    inner join {{ ref('aipl_state_history') }} as spells
        on {{ spell_holds_on('spells', 'days.funnel_date') }}
),

brand_days as (
    select
        brands.brand_id,
        days.funnel_date
    from {{ ref('stg_reference__brands') }} as brands
    cross join days
),

counts as (
    select
        brand_days.brand_id,
        brand_days.funnel_date,
        sum(case when states.state = 'O' then 1 else 0 end) as consumers_o,
        sum(case when states.state = 'A' then 1 else 0 end) as consumers_a,
        sum(case when states.state = 'I' then 1 else 0 end) as consumers_i,
        sum(case when states.state = 'P' then 1 else 0 end) as consumers_p,
        sum(case when states.state = 'L' then 1 else 0 end) as consumers_l
    from brand_days
    left join states
        on brand_days.brand_id = states.brand_id
        and brand_days.funnel_date = states.funnel_date
    group by brand_days.brand_id, brand_days.funnel_date
)

select
    brand_id,
    funnel_date,
    consumers_o,
    consumers_a,
    consumers_i,
    consumers_p,
    consumers_l,
    consumers_a + consumers_i + consumers_p + consumers_l as asset_total,
    case when consumers_a > 0 then cast(consumers_i as double) / consumers_a end as rate_a_to_i,
    case when consumers_i > 0 then cast(consumers_p as double) / consumers_i end as rate_i_to_p,
    case when consumers_p > 0 then cast(consumers_l as double) / consumers_p end as rate_p_to_l
from counts
