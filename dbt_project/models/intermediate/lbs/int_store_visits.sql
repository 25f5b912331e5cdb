-- Incremental: each night reads only its own partition of pings, so cost follows the night, not the history.
{{ config(
    materialized='incremental',
    unique_key='visit_id',
    incremental_strategy=('merge' if target.type == 'spark' else 'delete+insert'),
    on_schema_change='fail',
    pre_hook="{{ rewind_nights_from('loaded_date') }}",
) }}
-- depends_on: {{ ref('int_night_records_resolved') }}

{%- set radius_m = var('store_visit_radius_m') %}
{%- set radius_km = radius_m / 1000.0 %}
{%- set at_store_columns = [
    'ping_id', 'device_id_hmac', 'pinged_at', 'pinged_date', 'loaded_date', 'store_id',
] %}

with pings as (
    select *
    from {{ ref('stg_lbs__pings') }}
    -- A ping known only to within more than the radius cannot tell the shop floor from the street,
    -- whatever heard it (docs/aipl.md, "Store visits"), so it is skipped: it bridges no gap below.
    where
        is_device_linkable
        and (accuracy_m is null or accuracy_m <= {{ radius_m }})
        {% if is_incremental() %}
        and loaded_date = {{ run_date() }}
        {% else %}
        and loaded_date <= {{ run_date() }}
        {% endif %}
),

stores as (
    {{ stores_with_reach(ref('stg_reference__stores'), radius_km) | indent(4) }}
),

sdk_near_store as (
    select
        pings.ping_id,
        pings.device_id_hmac,
        pings.pinged_at,
        pings.pinged_date,
        pings.loaded_date,
        stores.store_id,
        {{ distance_km('pings.lat', 'pings.lon', 'stores.lat', 'stores.lon') }} as distance_km
    from pings
    inner join stores
        on {{ geo_in_box('pings.lat', 'pings.lon', 'stores') | indent(8) }}
    where
        pings.source = 'sdk'
        and {{ store_open_on('stores', 'pings.pinged_date') }}
),

-- A device is in one place at a time: a ping within reach of two stores belongs to the nearer one,
-- which also keeps visit_id (its first ping's id) unique.
sdk_at_store as (
    select
        *,
        row_number() over (partition by ping_id order by distance_km, store_id) as nearness
    from sdk_near_store
    where distance_km <= {{ radius_km }}
),

at_store as (
    select
        {{ column_list(at_store_columns) | indent(8) }}
    from sdk_at_store
    where nearness = 1

    union all

    -- A store's Wi-Fi or beacon hears devices inside it, wherever their coordinates say they are.
    select
        {{ column_list(at_store_columns) | indent(8) }}
    from pings
    where source in ('wifi', 'beacon') and store_id is not null
),

-- Visits are cut per night of arrival, so a full build yields exactly what the nightly runs did.
-- Only at-store pings are ordered: pings outside the radius between them are location jitter and end
-- no visit; only a gap of more than the tolerance between two at-store pings does.
with_previous as (
    select
        *,
        lag(pinged_at) over (
            partition by device_id_hmac, store_id, loaded_date order by pinged_at, ping_id
        ) as previous_pinged_at
    from at_store
),

flagged as (
    select
        *,
        case
            when previous_pinged_at is null then 1
            when
                {{ dbt.datediff('previous_pinged_at', 'pinged_at', 'second') }}
                > {{ var('store_visit_max_gap_minutes') }} * 60
                then 1
            else 0
        end as starts_visit
    from with_previous
),

numbered as (
    select
        *,
        sum(starts_visit) over (
            partition by device_id_hmac, store_id, loaded_date
            order by pinged_at, ping_id
            rows between unbounded preceding and current row
        ) as visit_no
    from flagged
),

visits as (
    select
        max(case when starts_visit = 1 then ping_id end) as visit_id,
        device_id_hmac,
        store_id,
        min(pinged_at) as visit_started_at,
        max(pinged_at) as visit_ended_at,
        max(case when starts_visit = 1 then pinged_date end) as visit_date,
        {{ dbt.datediff('min(pinged_at)', 'max(pinged_at)', 'second') }} as dwell_seconds,
        count(*) as pings,
        loaded_date
    from numbered
    group by device_id_hmac, store_id, loaded_date, visit_no
),

resolved as (
    {{ resolve_lbs_pings() | indent(4) }}
)

select
    visits.visit_id,
    resolved.one_id,
    visits.device_id_hmac,
    visits.store_id,
    stores.brand_id,
    visits.visit_started_at,
    visits.visit_ended_at,
    visits.visit_date,
    visits.dwell_seconds / 60.0 as dwell_minutes,
    visits.pings,
    visits.loaded_date
from visits
inner join stores
    on visits.store_id = stores.store_id
inner join resolved
    on visits.visit_id = resolved.source_record_id
where visits.dwell_seconds >= {{ var('store_visit_min_dwell_minutes') }} * 60
