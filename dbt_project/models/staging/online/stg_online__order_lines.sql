-- Online order lines that had arrived by the run date.
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
from ({{ arrived_by_run_date(source('online', 'online_orders')) }}) as order_lines
