-- A table rebuilt each night: order lines are few next to the behaviour feeds, and every refund
-- revises the line it refunds, however old.
with lines as (
    select * from {{ ref('int_order_lines_unioned') }}
),

sales_lines as (
    select order_line_id
    from lines
    where not is_refund
),

resolved as (
    {{ resolve_records(
        ref('stg_identity__identifiers'),
        ref('stg_identity__identity_map'),
        "ids.source_feed in ('online_orders', 'pos_transactions')",
    ) | indent(4) }}
)

select
    lines.order_line_id,
    lines.source_feed,
    lines.order_id,
    resolved.one_id,
    products.brand_id,
    lines.channel,
    lines.platform,
    lines.store_id,
    case when lines.is_refund then 'unlinked_refund' else 'sale' end as line_type,
    lines.transacted_at as ordered_at,
    lines.transacted_date as order_date,
    lines.sku,
    products.category,
    lines.quantity,
    lines.unit_price,
    case when lines.is_refund then 0 else lines.line_amount end as gross_amount,
    case
        when lines.is_refund then lines.line_amount else coalesce(refunds.refunded_amount, 0)
    end as refunded_amount,
    case
        when lines.is_refund then -lines.line_amount
        else lines.line_amount - coalesce(refunds.refunded_amount, 0)
    end as net_amount,
    coalesce(refunds.fully_refunded_date is not null, false) as is_fully_refunded,
    refunds.fully_refunded_date,
    lines.coupon_id,
    lines.loaded_date
from lines
left join {{ ref('int_refunds_by_line') }} as refunds
    on lines.order_line_id = refunds.order_line_id
left join resolved
    on lines.source_feed = resolved.source_feed and lines.order_line_id = resolved.source_record_id
left join {{ ref('stg_reference__products') }} as products
    on lines.sku = products.sku
-- Refunds of sales that reached silver are netted on the sale; the others stay as their own rows.
where not lines.is_refund
    or lines.refunded_line_id is null
    or lines.refunded_line_id not in (select sales_lines.order_line_id from sales_lines)
