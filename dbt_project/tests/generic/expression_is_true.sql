{#- Every row satisfies a boolean SQL expression, or, given a column, `<column> <expression>` holds
    for every row. dbt_utils.expression_is_true with its arguments: dbt Hub packages cannot be
    downloaded here, and a project that has dbt_utils can name that test instead. -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    {%- if column_name is none %}
    where not ({{ expression }})
    {%- else %}
    where not ({{ column_name }} {{ expression }})
    {%- endif %}
{% endtest %}
