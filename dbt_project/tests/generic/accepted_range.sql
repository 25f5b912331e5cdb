{#- Every non-null value of the column lies between min_value and max_value (either may be left
    out), both included unless `inclusive` is false. Nulls pass: a rate with no denominator is
    undefined, not out of range. dbt_utils.accepted_range with its arguments: dbt Hub packages cannot
    be downloaded here, and a project that has dbt_utils can name that test instead. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
    select {{ column_name }}
    from {{ model }}
    where
        false
        {%- if min_value is not none %}
        or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
        {%- endif %}
{% endtest %}
