-- POS receipt lines that had arrived by the run date.
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
from ({{ arrived_by_run_date(source('pos', 'pos_transactions')) }}) as receipt_lines
