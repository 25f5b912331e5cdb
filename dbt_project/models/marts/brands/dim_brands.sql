-- The brands of the group as every report names them: the key the marts carry and its display names.
select
    brand_id,
    brand_name,
    brand_name_en,
    sector
from {{ ref('stg_reference__brands') }}
