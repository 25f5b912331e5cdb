-- Stores as analysts browse them: reference attributes, the brand's name, and whether the store
-- trades on the run date (pop-ups open and close; closed_on is the last trading day).

select
    stores.store_id,
    stores.store_name,
    stores.brand_id,
    brands.brand_name,
    brands.brand_name_en,
    stores.city,
    stores.lat,
    stores.lon,
    stores.store_type,
    stores.opened_on,
    stores.closed_on,
    stores.pos_system,
    stores.has_interactive_screen,
    (
        {{ store_open_on('stores', run_date()) }}
    ) as is_open
from {{ ref('stg_reference__stores') }} as stores
left join {{ ref('stg_reference__brands') }} as brands
    on stores.brand_id = brands.brand_id
