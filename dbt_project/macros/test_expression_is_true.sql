{#- Every row satisfies a boolean SQL expression (dbt Hub packages cannot be downloaded here). -#}
{% test expression_is_true(model, expression) %}
    select * from {{ model }}
    where not ({{ expression }})
{% endtest %}
