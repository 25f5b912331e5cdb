-- As of the run date: a re-run of an earlier night sees only what had arrived by then.
select
    receipt_line_id,
    receipt_id,
    store_id,
    line_no,
    line_type = 'return' as is_return,
    original_receipt_id,
    returned_line_id,
    coalesce(is_return_linked, false) as is_return_linked,
    sold_at,
    sold_date,
    sku,
    quantity,
    unit_price,
    line_amount,
    payment_method,
    dt as loaded_date
from {{ source('pos', 'pos_transactions') }}
where dt <= {{ run_date() }}
