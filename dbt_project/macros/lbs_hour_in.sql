{#- True when an hour of the day (0-23) lies in [start, end); a start after the end wraps past
    midnight, so [22, 6) means 22:00 to 05:59. start and end are template values (vars). -#}
{% macro lbs_hour_in(hour, start, end) -%}
    {%- if start <= end -%}
        ({{ hour }} >= {{ start }} and {{ hour }} < {{ end }})
    {%- else -%}
        ({{ hour }} >= {{ start }} or {{ hour }} < {{ end }})
    {%- endif -%}
{%- endmacro %}
