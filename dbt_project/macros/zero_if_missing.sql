{#- Columns of a left-joined relation, 0 where the join found no row: counts and amounts of nothing
    are zero, not unknown. One `coalesce(<relation>.<column>, 0) as <prefix><column>` a line. -#}
{% macro zero_if_missing(relation, columns, prefix='') -%}
    {%- for column in columns -%}
    coalesce({{ relation }}.{{ column }}, 0) as {{ prefix }}{{ column }}{{ ",\n" if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
