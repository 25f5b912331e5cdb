{#- Rows are unique on a combination of columns (dbt Hub packages, dbt_utils among them, cannot be downloaded here). -#}
{% test unique_combination_of_columns(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
