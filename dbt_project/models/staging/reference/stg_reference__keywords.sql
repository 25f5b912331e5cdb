-- The latest snapshot delivered on or before the run date.
select
    keyword_id,
    keyword,
    brand_id,
    keyword_type
from ({{ latest_partition(source('reference', 'keywords')) }}) as snapshot
