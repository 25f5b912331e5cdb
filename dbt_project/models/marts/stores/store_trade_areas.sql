-- Who lives or works around each store, by AIPL state for the store's brand on the run date.
-- A consumer counts once per store: in the ring of whichever of home or work is nearer.
{%- set rings_km = var('trade_area_rings_km') | sort %}
{%- set reach_km = rings_km | last %}

with rings as (
    {%- for outer_km in rings_km %}
    select
        {{ loop.index }} as ring_no,
        {{ loop.previtem if not loop.first else 0 }} as ring_inner_km,
        {{ outer_km }} as ring_outer_km
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

stores as (
    {{ stores_with_reach(ref('dim_stores'), reach_km) | indent(4) }}
),

located_near as (
    select
        stores.store_id,
        stores.brand_id,
        locations.one_id,
        locations.location_kind,
        {{ distance_km('locations.lat', 'locations.lon', 'stores.lat', 'stores.lon') }} as distance_km
    from {{ ref('int_consumer_locations') }} as locations
    inner join stores
        on {{ geo_in_box('locations.lat', 'locations.lon', 'stores') | indent(8) }}
),

nearest as (
    select
        *,
        row_number() over (
            partition by store_id, one_id order by distance_km, location_kind
        ) as nearness
    from located_near
    where distance_km <= {{ reach_km }}
),

-- Rings are (inner, outer] km; the first also takes the store's own spot.
placed as (
    select
        nearest.store_id,
        nearest.brand_id,
        nearest.one_id,
        nearest.location_kind,
        rings.ring_no
    from nearest
    inner join rings
        on nearest.distance_km <= rings.ring_outer_km
        and (nearest.distance_km > rings.ring_inner_km or rings.ring_no = 1)
    where nearest.nearness = 1
),

states_on_run_date as (
    select
        spells.one_id,
        spells.brand_id,
        spells.state
    from {{ ref('aipl_state_history') }} as spells
    where {{ spell_holds_on('spells', run_date()) }}
),

-- Ever bought the brand, counting a sale unless it was fully refunded by the run date.
buyers as (
    select distinct
        one_id,
        brand_id
    from {{ ref('fct_order_lines') }}
    where
        one_id is not null
        and line_type = 'sale'
        and order_date <= {{ run_date() }}
        and (fully_refunded_date is null or fully_refunded_date > {{ run_date() }})
),

-- No A/I/P/L state (no spell, or an O spell under the oaipl scheme) makes an opportunity.
classified as (
    select
        placed.store_id,
        placed.ring_no,
        placed.one_id,
        placed.location_kind,
        case
            when states_on_run_date.state in ('A', 'I', 'P', 'L') then states_on_run_date.state
            else 'O'
        end as funnel_state,
        buyers.one_id is not null as has_purchased
    from placed
    left join states_on_run_date
        on placed.one_id = states_on_run_date.one_id
        and placed.brand_id = states_on_run_date.brand_id
    left join buyers
        on placed.one_id = buyers.one_id
        and placed.brand_id = buyers.brand_id
),

counts as (
    select
        store_id,
        ring_no,
        count(*) as consumers,
        {%- for kind in ['home', 'work'] %}
        count(case when location_kind = '{{ kind }}' then 1 end) as consumers_by_{{ kind }},
        {%- endfor %}
        {%- for state in ['O', 'A', 'I', 'P', 'L'] %}
        count(case when funnel_state = '{{ state }}' then 1 end) as consumers_{{ state | lower }},
        {%- endfor %}
        count(
            case when funnel_state in ('O', 'A', 'I') and not has_purchased then 1 end
        ) as potential_customers
    from classified
    group by store_id, ring_no
)

select
    stores.store_id,
    stores.brand_id,
    rings.ring_no,
    rings.ring_inner_km,
    rings.ring_outer_km,
    {{ zero_if_missing('counts', [
        'consumers', 'consumers_by_home', 'consumers_by_work',
        'consumers_o', 'consumers_a', 'consumers_i', 'consumers_p', 'consumers_l', 'potential_customers',
    ]) | indent(4) }},
    {{ run_date() }} as as_of_date
from stores
cross join rings
left join counts
    on stores.store_id = counts.store_id
    and rings.ring_no = counts.ring_no
