{#- A store trades on a day: opened by then and not yet closed (closed_on is its last trading day). -#}
{% macro store_open_on(stores, day) -%}
    ({{ stores }}.opened_on is null or {{ stores }}.opened_on <= {{ day }})
    and ({{ stores }}.closed_on is null or {{ day }} <= {{ stores }}.closed_on)
{%- endmacro %}
