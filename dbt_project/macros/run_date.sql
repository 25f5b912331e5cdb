{#- The run date (the local business day the build is for) as a typed date literal.

    A build is told its day by DATABANK_RUN_DATE (databank marts sets it), or by the var run_date
    (`--vars`, and the unit tests' overrides), which wins. The environment variable is read only while
    executing: parsing sees a stand-in, so a new night leaves dbt's parsed project valid and the night
    starts from the saved manifest (partial parsing) instead of parsing every model and test again,
    which a var changed on the command line forces. -#}
{% macro run_date() -%}
    {%- set day = var("run_date", none) -%}
    {%- if day is none and execute -%}
        {%- set day = env_var("DATABANK_RUN_DATE", "") -%}
        {%- if not day -%}
            {{ exceptions.raise_compiler_error(
                "No run date: set DATABANK_RUN_DATE=YYYY-MM-DD or pass --vars '{run_date: YYYY-MM-DD}'"
            ) }}
        {%- endif -%}
    {%- endif -%}
    cast('{{ day or "1970-01-01" }}' as date)
{%- endmacro %}
