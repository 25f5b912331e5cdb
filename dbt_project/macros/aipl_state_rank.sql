{#- Depth of a state in the funnel: none 0, O 1, A 2, I 3, P 4, L 5 (higher is deeper). -#}
{% macro aipl_state_rank(state) -%}
    case {{ state }}
        when 'L' then 5
        when 'P' then 4
        when 'I' then 3
        when 'A' then 2
        when 'O' then 1
        else 0
    end
{%- endmacro %}
