-- Online order lines and POS receipt lines in one shape; refunds and returns point at their sale.
select
    online_lines.order_line_id,
    'online_orders' as source_feed,
    online_lines.order_id,
    'online' as channel,
    online_lines.platform,
    online_lines.store_id,
    online_lines.is_refund,
    online_lines.refund_of_line_id as refunded_line_id,
    online_lines.transacted_at,
    online_lines.transacted_date,
    online_lines.sku,
    online_lines.quantity,
    online_lines.unit_price,
    online_lines.line_amount,
    online_lines.coupon_id,
    online_lines.loaded_date
from {{ ref('stg_online__order_lines') }} as online_lines

union all

select
    receipt_lines.receipt_line_id as order_line_id,
    'pos_transactions' as source_feed,
    receipt_lines.receipt_id as order_id,
    'store' as channel,
    'pos' as platform,
    receipt_lines.store_id,
    receipt_lines.is_return as is_refund,
    receipt_lines.returned_line_id as refunded_line_id,
    receipt_lines.sold_at as transacted_at,
    receipt_lines.sold_date as transacted_date,
    receipt_lines.sku,
    receipt_lines.quantity,
    receipt_lines.unit_price,
    receipt_lines.line_amount,
    cast(null as {{ dbt.type_string() }}) as coupon_id,
    receipt_lines.loaded_date
from {{ ref('stg_pos__receipt_lines') }} as receipt_lines
