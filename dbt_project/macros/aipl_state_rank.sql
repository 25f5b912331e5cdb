{#- Depth of an AIPL state in the funnel, so "deeper" and "moved into" are comparisons: none 0, O 1,
    A 2, I 3, P 4, L 5 (docs/aipl.md: L > P > I > A, and O below A under the oaipl scheme). -#}
{% macro aipl_state_ranks() -%}
    {{ return({'O': 1, 'A': 2, 'I': 3, 'P': 4, 'L': 5}) }}
{%- endmacro %}

{#- Rank of a state column or expression; null (no spell) is none. -#}
{% macro aipl_state_rank(state) -%}
    case {{ state }}
        {%- for code, rank in aipl_state_ranks().items() %}
        when '{{ code }}' then {{ rank }}
        {%- endfor %}
        else 0
    end
{%- endmacro %}

{#- The state a rank stands for, 'none' for 0. -#}
{% macro aipl_state_of_rank(rank) -%}
    case {{ rank }}
        {%- for code, value in aipl_state_ranks().items() %}
        when {{ value }} then '{{ code }}'
        {%- endfor %}
        else 'none'
    end
{%- endmacro %}
