{#- Overlapping or touching spells [valid_from, valid_to) of one consumer and brand merged into
    one, so that joining the result to a day finds at most one spell per consumer and brand.
    `spells` is a relation or CTE with one_id, brand_id, valid_from and valid_to (no open ends);
    empty spells (valid_to <= valid_from) are dropped. -#}
{% macro health_merge_spells(spells) -%}
    select
        one_id,
        brand_id,
        min(valid_from) as valid_from,
        max(valid_to) as valid_to
    from (
        -- A spell that starts after every earlier one has ended starts a new merged spell.
        select
            *,
            sum(
                case when covered_until is null or valid_from > covered_until then 1 else 0 end
            ) over (
                partition by one_id, brand_id
                order by valid_from, valid_to
                rows between unbounded preceding and current row
            ) as merged_spell_no
        from (
            select
                *,
                max(valid_to) over (
                    partition by one_id, brand_id
                    order by valid_from, valid_to
                    rows between unbounded preceding and 1 preceding
                ) as covered_until
            from {{ spells }}
            where valid_from < valid_to
        ) as ordered_spells
    ) as numbered_spells
    group by one_id, brand_id, merged_spell_no
{%- endmacro %}
