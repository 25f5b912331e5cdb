{#- Rows are unique on a combination of columns. dbt_utils.unique_combination_of_columns with its
    arguments: dbt Hub packages cannot be downloaded here, and a project that has dbt_utils can name
    that test instead. -#}
{% test unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
    {%- set columns = [] %}
    {%- for column in combination_of_columns %}
        {%- do columns.append(adapter.quote(column) if quote_columns else column) %}
    {%- endfor %}
    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
