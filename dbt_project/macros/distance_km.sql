{#- Great-circle (haversine) distance in km between two WGS-84 points given in degrees. Plain SQL
    that DuckDB and Spark both run; dispatched so an adapter with a native geo function can override.
    The argument of asin is capped at 1 because rounding can push it just above for antipodes. -#}
{% macro distance_km(lat1, lon1, lat2, lon2) -%}
    {{ return(adapter.dispatch('distance_km', 'databank')(lat1, lon1, lat2, lon2)) }}
{%- endmacro %}

{% macro default__distance_km(lat1, lon1, lat2, lon2) -%}
    (2 * 6371.0088 * asin(least(1.0, sqrt(
        power(sin(radians(({{ lat2 }}) - ({{ lat1 }})) / 2), 2)
        + cos(radians({{ lat1 }})) * cos(radians({{ lat2 }}))
        * power(sin(radians(({{ lon2 }}) - ({{ lon1 }})) / 2), 2)
    ))))
{%- endmacro %}

{#- Each store of the relation `stores` (stg_reference__stores or dim_stores) with the bounding box,
    as four columns box_min_lat .. box_max_lon, of every point within `km` of it: a cheap range
    prefilter (no trigonometry per row) before the exact haversine. One degree of latitude is at
    least 110.5 km; longitude degrees shrink with cos(lat). -#}
{% macro stores_with_reach(stores, km) -%}
    select
        store_id,
        brand_id,
        lat,
        lon,
        opened_on,
        closed_on,
        lat - ({{ km }}) / 110.5 as box_min_lat,
        lat + ({{ km }}) / 110.5 as box_max_lat,
        lon - ({{ km }}) / (110.5 * greatest(cos(radians(lat)), 0.01)) as box_min_lon,
        lon + ({{ km }}) / (110.5 * greatest(cos(radians(lat)), 0.01)) as box_max_lon
    from {{ stores }}
{%- endmacro %}

{#- The point (lat, lon) lies in the box that stores_with_reach gave the relation `box`. -#}
{% macro geo_in_box(lat, lon, box) -%}
    {{ lat }} between {{ box }}.box_min_lat and {{ box }}.box_max_lat
    and {{ lon }} between {{ box }}.box_min_lon and {{ box }}.box_max_lon
{%- endmacro %}
