-- A table, rebuilt nightly: it scans a month of pings and is read by every trade-area mart.
{{ config(materialized='table') }}

{%- set cell_m = var('home_location_cell_m') %}
{#- A cell is cell_deg degrees of latitude high and, at its own latitude, as many metres wide. -#}
{%- set cell_deg = cell_m / 111195.0 %}
{%- set home_from, home_to = var('home_hours') %}
{%- set work_from, work_to = var('work_hours') %}


-- GPS pings only: Wi-Fi and beacon pings are heard inside stores and would pull everyone towards them.
with pings as (
    select
        ping_id,
        device_id_hmac,
        pinged_date,
        lat,
        lon,
        extract(hour from {{ local_time('pinged_at') }}) as local_hour
    from {{ ref('stg_lbs__pings') }}
    where
        is_device_linkable
        and source = 'sdk'
        and lat is not null
        and lon is not null
        and (accuracy_m is null or accuracy_m <= {{ cell_m }})
        and loaded_date <= {{ run_date() }}
        and loaded_date >= {{ earliest_load_day(var('home_location_window_days') - 1) }}
        and pinged_date <= {{ run_date() }}
        and pinged_date
        > {{ add_days(run_date(), -var('home_location_window_days')) }}
),

-- A ping carries one identifier, its device (schemas/lbs_pings.yaml), so it resolves through the
-- map directly: the window's pings joined with the map, not their sightings grouped by record.
resolved as (
    select
        map.one_id,
        pings.pinged_date,
        pings.lat,
        pings.lon,
        pings.local_hour
    from pings
    inner join {{ ref('stg_identity__identity_map') }} as map
        on map.identifier_key = {{ identifier_key("'device_id'", 'pings.device_id_hmac') }}
),

located as (
    -- A night that runs past midnight is one night: its small hours count for the day before.
    select
        resolved.one_id,
        'home' as location_kind,
        resolved.lat,
        resolved.lon,
        {% if home_from > home_to -%}
        case
            when resolved.local_hour < {{ home_to }} then {{ add_days('resolved.pinged_date', -1) }}
            else resolved.pinged_date
        end
        {%- else -%}
        resolved.pinged_date
        {%- endif %} as location_day
    from resolved
    where {{ lbs_hour_in('resolved.local_hour', home_from, home_to) }}

    union all

    -- Monday to Friday: 2000-01-03 was a Monday, and the day-of-week functions differ by dialect.
    select
        resolved.one_id,
        'work' as location_kind,
        resolved.lat,
        resolved.lon,
        resolved.pinged_date as location_day
    from resolved
    where
        {{ lbs_hour_in('resolved.local_hour', work_from, work_to) }}
        and {{ dbt.datediff("cast('2000-01-03' as date)", 'resolved.pinged_date', 'day') }} % 7 < 5
),

-- Equal-area cells: the column width in degrees of longitude widens with the cell row's latitude.
gridded as (
    select
        *,
        floor(lat / {{ cell_deg }}) as cell_row,
        floor(
            lon * cos(radians((floor(lat / {{ cell_deg }}) + 0.5) * {{ cell_deg }})) / {{ cell_deg }}
        ) as cell_col
    from located
),

cells as (
    select
        one_id,
        location_kind,
        cell_row,
        cell_col,
        -- The cell's centre: a float mean would move in its last bits from one build to the next.
        {{ stable_avg('lat') }} as lat,
        {{ stable_avg('lon') }} as lon,
        count(*) as pings,
        count(distinct location_day) as days
    from gridded
    group by one_id, location_kind, cell_row, cell_col
),

ranked as (
    select
        *,
        row_number() over (
            partition by one_id, location_kind
            order by pings desc, days desc, cell_row asc, cell_col asc
        ) as cell_rank
    from cells
)

select
    one_id,
    location_kind,
    lat,
    lon,
    pings,
    days
from ranked
where
    cell_rank = 1
    and pings >= {{ var('home_location_min_pings') }}
    and days >= {{ var('home_location_min_days') }}
