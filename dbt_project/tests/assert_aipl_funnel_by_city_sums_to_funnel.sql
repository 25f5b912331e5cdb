-- Summed over cities, the run date's funnel by city is the funnel.
with by_city as (
    select
        brand_id,
        sum(consumers_a) as consumers_a,
        sum(consumers_i) as consumers_i,
        sum(consumers_p) as consumers_p,
        sum(consumers_l) as consumers_l
    from {{ ref('aipl_daily_funnel_by_city') }}
    where funnel_date = cast('{{ var("run_date") }}' as date)
    group by brand_id
)

select funnel.brand_id
from {{ ref('aipl_daily_funnel') }} as funnel
left join by_city on funnel.brand_id = by_city.brand_id
where funnel.funnel_date = cast('{{ var("run_date") }}' as date)
    and (
        coalesce(by_city.consumers_a, 0) != funnel.consumers_a
        or coalesce(by_city.consumers_i, 0) != funnel.consumers_i
        or coalesce(by_city.consumers_p, 0) != funnel.consumers_p
        or coalesce(by_city.consumers_l, 0) != funnel.consumers_l
    )
