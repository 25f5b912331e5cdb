-- What was refunded of each sale line, and the day the refunds first covered it in full.
with refunds as (
    select
        refunded_line_id,
        transacted_date,
        line_amount,
        quantity,
        sum(line_amount) over (
            partition by refunded_line_id
            order by transacted_date, order_line_id
            rows between unbounded preceding and current row
        ) as refunded_amount_so_far
    from {{ ref('int_order_lines_unioned') }}
    where is_refund and refunded_line_id is not null
),

sales as (
    select
        order_line_id,
        line_amount
    from {{ ref('int_order_lines_unioned') }}
    where not is_refund
)

select
    refunds.refunded_line_id as order_line_id,
    {{ stable_sum('refunds.line_amount') }} as refunded_amount,
    sum(refunds.quantity) as refunded_quantity,
    min(case
        -- A cent of rounding between the platforms' refund and sale amounts is still a full refund.
        when refunds.refunded_amount_so_far >= sales.line_amount - 0.01 then refunds.transacted_date
    end) as fully_refunded_date
from refunds
inner join sales on refunds.refunded_line_id = sales.order_line_id
group by refunds.refunded_line_id
