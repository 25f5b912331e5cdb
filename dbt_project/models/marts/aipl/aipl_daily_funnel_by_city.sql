{{ config(
    materialized='incremental',
    unique_key=['brand_id', 'funnel_date', 'home_city'],
    pre_hook="{{ rewind_nights_from('funnel_date') }}",
) }}
-- Incremental: a night adds its own day; earlier days' funnels do not change.
-- Cities are those of the consumers' homes today (unknown when no home was inferred).

with days as (
    {{ aipl_report_days('funnel_date') | indent(4) }}
),

states as (
    select
        spells.brand_id,
        days.funnel_date,
        coalesce(consumers.home_city, 'unknown') as home_city,
        spells.state
    from days
    inner join {{ ref('aipl_state_history') }} as spells
        on {{ spell_holds_on('spells', 'days.funnel_date') }}
    left join {{ ref('dim_consumers') }} as consumers
        on spells.one_id = consumers.one_id
)

select
    brand_id,
    funnel_date,
    home_city,
    count(case when state = 'O' then 1 end) as consumers_o,
    count(case when state = 'A' then 1 end) as consumers_a,
    count(case when state = 'I' then 1 end) as consumers_i,
    count(case when state = 'P' then 1 end) as consumers_p,
    count(case when state = 'L' then 1 end) as consumers_l,
    count(case when state in ('A', 'I', 'P', 'L') then 1 end) as asset_total
from states
group by brand_id, funnel_date, home_city
