-- Order and till lines as AIPL touchpoints of the product's brand: every paid sale a purchase (a
-- zero-amount line, a free gift, is none: docs/aipl.md), every refund or return a refund pointing at
-- its sale, and a coupon on a sale also a coupon redemption.
with lines as (
    select
        lines.*,
        products.brand_id
    from {{ ref('int_order_lines_unioned') }} as lines
    inner join {{ ref('stg_reference__products') }} as products
        on lines.sku = products.sku
),

touches as (
    select
        lines.*,
        case when lines.is_refund then 'refund' else 'purchase' end as behaviour
    from lines
    where lines.is_refund or lines.line_amount > 0

    union all

    select
        lines.*,
        'coupon_redeem' as behaviour
    from lines
    where not lines.is_refund and lines.coupon_id is not null
)

select
    source_feed,
    order_line_id as source_record_id,
    brand_id,
    behaviour,
    transacted_at as touched_at,
    transacted_date as touched_date,
    channel,
    platform,
    store_id,
    cast(null as {{ dbt.type_string() }}) as campaign_id,
    sku,
    coupon_id,
    line_amount as amount,
    quantity,
    refunded_line_id as related_record_id,
    loaded_date
from touches
