{#- The column is unique, checked one load at a time. A night checks that the values loaded on the run
    date (`loaded_column`) are unique among themselves and found in no earlier load: for a table that
    only ever gains loads, that keeps a unique column unique, and it costs the night's values and one
    probe of the history instead of grouping the whole history every night. A full build (full
    refresh, restatement, the first night of a replay) checks the whole column. -#}
{% test unique_per_load(model, column_name, loaded_column='loaded_date') %}
    {%- if flags.FULL_REFRESH %}
    {{ adapter.dispatch('test_unique', 'dbt')(model, column_name) }}
    {%- else %}
    with loaded_tonight as (
        select {{ column_name }} as value
        from {{ model }}
        where {{ loaded_column }} = {{ run_date() }} and {{ column_name }} is not null
    )

    select
        value as {{ column_name }},
        count(*) as occurrences
    from loaded_tonight
    group by value
    having count(*) > 1

    union all

    select
        {{ column_name }},
        count(*) + 1 as occurrences
    from {{ model }}
    where
        {{ loaded_column }} < {{ run_date() }}
        and {{ column_name }} in (select loaded_tonight.value from loaded_tonight)
    group by {{ column_name }}
    {%- endif %}
{% endtest %}
