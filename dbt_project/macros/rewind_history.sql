{#- Pre-hooks of an incremental spell table (valid_from, valid_to): before a night is (re-)built,
    undo whatever that night or a later one wrote, so re-running a date gives what running it once
    gave. Later nights must then be re-run, in order, as the nightly schedule does. -#}
{% macro rewind_spells_from(run_date) -%}
    {% if is_incremental() -%}
        delete from {{ this }} where valid_from >= cast('{{ run_date }}' as date)
    {%- endif %}
{%- endmacro %}

{% macro reopen_spells_from(run_date) -%}
    {% if is_incremental() -%}
        update {{ this }} set valid_to = null where valid_to >= cast('{{ run_date }}' as date)
    {%- endif %}
{%- endmacro %}
