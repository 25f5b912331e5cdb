{#- A touchpoint (alias `touches`) is a consumer's own touch of the brand in the attribution window of
    a campaign that reached them (alias `exposed`, a row of int_campaign_consumers_exposed): at or
    after the moment of first exposure, up to the window's last day. -#}
{% macro in_attribution_window(exposed, touches) -%}
    {{ exposed }}.one_id = {{ touches }}.one_id
    and {{ exposed }}.brand_id = {{ touches }}.brand_id
    and {{ touches }}.touched_at >= {{ exposed }}.first_exposed_at
    and {{ touches }}.touched_date <= {{ exposed }}.attribution_end_date
{%- endmacro %}
