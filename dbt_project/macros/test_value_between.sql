{#- Every non-null value of the column lies between min_value and max_value, both included (rates,
    shares). Nulls pass: a rate with no denominator is undefined, not out of range. -#}
{% test value_between(model, column_name, min_value, max_value) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} < {{ min_value }}
        or {{ column_name }} > {{ max_value }}
{% endtest %}
