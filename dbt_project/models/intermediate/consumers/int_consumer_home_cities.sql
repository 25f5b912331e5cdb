-- The city of each consumer's home: the city of the nearest store, when one is close enough (the
-- stores' cities are the only geography the reference data holds).
with homes as (
    select
        one_id,
        lat,
        lon
    from {{ ref('int_consumer_locations') }}
    where location_kind = 'home'
),

distances as (
    select
        homes.one_id,
        stores.city,
        row_number() over (
            partition by homes.one_id
            order by {{ distance_km('homes.lat', 'homes.lon', 'stores.lat', 'stores.lon') }}, stores.store_id
        ) as nearness
    from homes
    cross join {{ ref('stg_reference__stores') }} as stores
    where
        {{ distance_km('homes.lat', 'homes.lon', 'stores.lat', 'stores.lon') }}
        <= {{ var('home_city_max_km') }}
)

select
    one_id,
    city as home_city
from distances
where nearness = 1
