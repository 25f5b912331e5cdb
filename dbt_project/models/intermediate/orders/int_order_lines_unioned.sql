-- Online order lines and POS receipt lines in one shape; refunds and returns point at their sale.
select
    order_line_id,
    'online_orders' as source_feed,
    order_id,
    'online' as channel,
    platform,
    store_id,
    is_refund,
    refund_of_line_id as refunded_line_id,
    transacted_at,
    transacted_date,
    sku,
    quantity,
    unit_price,
    line_amount,
    coupon_id,
    loaded_date
from {{ ref('stg_online__order_lines') }}

union all

select
    receipt_line_id as order_line_id,
    'pos_transactions' as source_feed,
    receipt_id as order_id,
    'store' as channel,
    'pos' as platform,
    store_id,
    is_return as is_refund,
    returned_line_id as refunded_line_id,
    sold_at as transacted_at,
    sold_date as transacted_date,
    sku,
    quantity,
    unit_price,
    line_amount,
    cast(null as {{ dbt.type_string() }}) as coupon_id,
    loaded_date
from {{ ref('stg_pos__receipt_lines') }}
