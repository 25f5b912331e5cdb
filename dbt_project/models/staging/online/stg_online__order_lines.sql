-- As of the run date: a re-run of an earlier night sees only what had arrived by then.
select
    order_line_id,
    order_id,
    line_no,
    platform,
    order_type = 'refund' as is_refund,
    refund_of_line_id,
    refunded_order_id,
    coalesce(is_refund_linked, false) as is_refund_linked,
    transacted_at,
    transacted_date,
    sku,
    quantity,
    unit_price,
    line_amount,
    coupon_id,
    store_id,
    dt as loaded_date
from {{ source('online', 'online_orders') }}
where dt <= {{ run_date() }}
