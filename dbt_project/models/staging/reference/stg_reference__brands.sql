-- The latest snapshot delivered on or before the run date.
select
    brand_id,
    brand_name,
    brand_name_en,
    sector
from ({{ latest_partition(source('reference', 'brands')) }}) as snapshot
