{#- Pre-hooks of an incremental spell table (valid_from, valid_to): before a night is (re-)built,
    undo whatever that night or a later one wrote, so re-running a date gives what running it once
    gave. Later nights must then be re-run, in order, as the nightly schedule does. -#}
{% macro rewind_spells_from(day) -%}
    {% if is_incremental() -%}
        delete from {{ this }} where valid_from >= {{ day }}
    {%- endif %}
{%- endmacro %}

{% macro reopen_spells_from(day) -%}
    {% if is_incremental() -%}
        update {{ this }} set valid_to = null where valid_to >= {{ day }}
    {%- endif %}
{%- endmacro %}

{#- Pre-hook of an incremental model whose rows each belong to one night (`column`: the night that
    wrote the row, or the day it reports): before a night is (re-)built, delete what that night or a
    later one wrote. Re-running an earlier night (late data) then leaves no later night's rows beside
    that night's dimensions; the later nights are re-run after it, in order. -#}
{% macro rewind_nights_from(column) -%}
    {% if is_incremental() -%}
        delete from {{ this }} where {{ column }} >= {{ run_date() }}
    {%- endif %}
{%- endmacro %}
