{#- The relation a data test reads, narrowed by its `where` config as dbt does, with one placeholder of
    this project: `__loaded_tonight__`, the rows of a big incremental model that the night loaded
    (`loaded_date` = the run date), or every row on a full build (full refresh, restatement, the first
    night of a replay). A test may be scoped so only when the column it checks never changes in a row
    loaded on an earlier night: such a row was checked the night it was loaded. Checking every row of
    the history each night grew with the history. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') or '' -%}
    {%- if '__loaded_tonight__' in where -%}
        {%- set tonight = '1 = 1' if flags.FULL_REFRESH else 'loaded_date = ' ~ run_date() -%}
        {%- set where = where | replace('__loaded_tonight__', tonight) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
