{#- A spell (valid_from inclusive, valid_to exclusive, null while current) holds on a day: `spell` is
    the alias of a relation with valid_from and valid_to, `day` a date expression. -#}
{% macro spell_holds_on(spell, day) -%}
    {{ spell_overlaps(spell, day, day) }}
{%- endmacro %}

{#- The spell holds on at least one day from `first_day` through `last_day`, both included. -#}
{% macro spell_overlaps(spell, first_day, last_day) -%}
    ({{ spell }}.valid_from <= {{ last_day }}
        and ({{ spell }}.valid_to is null or {{ spell }}.valid_to > {{ first_day }}))
{%- endmacro %}
