select
    products.sku,
    products.brand_id,
    brands.brand_name,
    products.product_name,
    products.category,
    products.list_price,
    products.launched_on
from {{ ref('stg_reference__products') }} as products
left join {{ ref('stg_reference__brands') }} as brands
    on products.brand_id = brands.brand_id
