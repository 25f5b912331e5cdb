{#- Column names, comma-separated, one a line (indent the call with `| indent(n)`), each qualified by
    `relation` when one is given. -#}
{% macro column_list(columns, relation=none) -%}
    {%- for column in columns -%}
    {{ relation ~ '.' if relation }}{{ column }}{{ ",\n" if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
