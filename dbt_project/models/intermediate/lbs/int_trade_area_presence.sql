-- Incremental: each night reads only its own partition of pings, so cost follows the night, not the history.
{{ config(
    materialized='incremental',
    unique_key=['one_id', 'brand_id', 'seen_date'],
    incremental_strategy=('merge' if target.type == 'spark' else 'delete+insert'),
    on_schema_change='fail',
    pre_hook="{{ rewind_nights_from('loaded_date') }}",
) }}
-- depends_on: {{ ref('int_night_records_resolved') }}

{%- set radius_km = var('aipl_opportunity_radius_km') %}

with stores as (
    {{ stores_with_reach(ref('stg_reference__stores'), radius_km) | indent(4) }}
),

-- A Wi-Fi or beacon ping without coordinates was heard inside its store, so it stands at the store.
pings as (
    select
        pings.ping_id,
        pings.pinged_date,
        pings.loaded_date,
        coalesce(pings.lat, heard_by.lat) as lat,
        coalesce(pings.lon, heard_by.lon) as lon
    from {{ ref('stg_lbs__pings') }} as pings
    left join stores as heard_by
        on pings.store_id = heard_by.store_id
    where
        pings.is_device_linkable
        {% if is_incremental() %}
        and pings.loaded_date = {{ run_date() }}
        {% else %}
        and pings.loaded_date <= {{ run_date() }}
        {% endif %}
),

resolved as (
    {{ resolve_lbs_pings() | indent(4) }}
),

near_store as (
    select
        resolved.one_id,
        stores.brand_id,
        pings.pinged_date as seen_date,
        pings.loaded_date
    from pings
    inner join resolved
        on pings.ping_id = resolved.source_record_id
    inner join stores
        on {{ geo_in_box('pings.lat', 'pings.lon', 'stores') | indent(8) }}
    where
        {{ store_open_on('stores', 'pings.pinged_date') }}
        and {{ distance_km('pings.lat', 'pings.lon', 'stores.lat', 'stores.lon') }} <= {{ radius_km }}
)

select
    one_id,
    brand_id,
    seen_date,
    max(loaded_date) as loaded_date
from near_store
group by one_id, brand_id, seen_date
