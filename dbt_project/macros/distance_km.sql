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

{#- Half-widths, in degrees, of a box that contains every point within `km` of a point at `lat`:
    a cheap range prefilter (no trigonometry per row) before the exact haversine. One degree of
    latitude is at least 110.5 km; longitude degrees shrink with cos(lat). -#}
{% macro geo_lat_margin_deg(km) -%}
    (({{ km }}) / 110.5)
{%- endmacro %}

{% macro geo_lon_margin_deg(km, lat) -%}
    (({{ km }}) / (110.5 * greatest(cos(radians({{ lat }})), 0.01)))
{%- endmacro %}
