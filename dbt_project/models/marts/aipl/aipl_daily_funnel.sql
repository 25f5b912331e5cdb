{{ config(
    materialized='incremental',
    unique_key=['brand_id', 'funnel_date'],
    pre_hook="{{ rewind_nights_from('funnel_date') }}",
) }}
-- Incremental: a night adds its own day; earlier days' funnels do not change.
-- The city split holds every consumer in a state (unknown city included), so the funnel is its sum.

with brand_days as (
    select
        brands.brand_id,
        days.funnel_date
    from ({{ aipl_report_days('funnel_date') | indent(4) }}) as days
    cross join {{ ref('stg_reference__brands') }} as brands
),

counts as (
    select
        brand_days.brand_id,
        brand_days.funnel_date,
        coalesce({{ count_sum('by_city.consumers_o') }}, 0) as consumers_o,
        coalesce({{ count_sum('by_city.consumers_a') }}, 0) as consumers_a,
        coalesce({{ count_sum('by_city.consumers_i') }}, 0) as consumers_i,
        coalesce({{ count_sum('by_city.consumers_p') }}, 0) as consumers_p,
        coalesce({{ count_sum('by_city.consumers_l') }}, 0) as consumers_l
    from brand_days
    left join {{ ref('aipl_daily_funnel_by_city') }} as by_city
        on brand_days.brand_id = by_city.brand_id
        and brand_days.funnel_date = by_city.funnel_date
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
