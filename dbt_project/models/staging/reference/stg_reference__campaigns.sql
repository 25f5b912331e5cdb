-- The latest snapshot delivered on or before the run date.
select
    campaign_id,
    brand_id,
    campaign_name,
    media,
    start_date,
    end_date,
    cost
from ({{ latest_partition(source('reference', 'campaigns')) }}) as snapshot
