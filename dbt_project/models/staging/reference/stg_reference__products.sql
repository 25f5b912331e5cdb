-- The latest snapshot delivered on or before the run date.
select
    sku,
    brand_id,
    product_name,
    category,
    list_price,
    launched_on
from ({{ latest_partition(source('reference', 'products')) }}) as snapshot
