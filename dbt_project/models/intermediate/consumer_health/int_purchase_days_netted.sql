-- Each consumer's purchase days per brand up to the run date, net of full refunds known by then:
-- the purchase history RFM and lifecycle read, so that both count purchases the same way.

select
    lines.one_id,
    lines.brand_id,
    lines.order_date as purchase_date,
    count(distinct {{ dbt.concat(['lines.source_feed', "':'", 'lines.order_id']) }}) as orders,
    count(*) as order_lines,
    {{ stable_sum(health_amount_on('lines', run_date())) }} as net_amount
from {{ ref('fct_order_lines') }} as lines
where
    {{ health_is_purchase_on('lines', run_date()) }}
    and lines.order_date <= {{ run_date() }}
    and lines.one_id is not null
    and lines.brand_id is not null
group by lines.one_id, lines.brand_id, lines.order_date
