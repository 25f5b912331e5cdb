{#- A comparison across days follows the consumer, not the id (docs/aipl.md, "Flows follow the
    consumer, not the id"). For each row (d0, d1, one_id) of the relation `ids` (an id as of night
    d0), the ids of night d1 that its identifiers became, following OneID's merges and splits of
    (d0, d1] in the order they happened: the id itself unless it was merged away, the id it merged
    into, the ids parts of it split off to, and on through the later changes of those. Returns
    (d0, d1, old_one_id, one_id); an id without changes maps to itself. `changed_after`, a date at or
    before every d0, limits the history read to the nights after it, so that a night reads only the
    changes of its own window. -#}
{% macro one_id_successors(ids, changed_after=none) -%}
    with recursive one_id_changes as (
        select
            old_one_id,
            new_one_id,
            cause,
            changed_date
        from {{ ref('stg_identity__one_id_changes') }}
        {%- if changed_after is not none %}
        where changed_date > {{ changed_after }}
        {%- endif %}
    ),

    -- Chains of changes, each step a later night than the one before: an id a change made on one
    -- night changes again only on a later one. Built from the history alone, so that the recursion
    -- grows with the changes of the nights read, not with the ids followed.
    one_id_chains as (
        select
            old_one_id,
            new_one_id as one_id,
            changed_date as first_changed_date,
            changed_date
        from one_id_changes

        union all

        select
            chains.old_one_id,
            changes.new_one_id as one_id,
            chains.first_changed_date,
            changes.changed_date
        from one_id_chains as chains
        inner join one_id_changes as changes
            on chains.one_id = changes.old_one_id
            and changes.changed_date > chains.changed_date
    ),

    one_id_reached as (
        select
            ids.d0,
            ids.d1,
            ids.one_id as old_one_id,
            chains.one_id
        from {{ ids }} as ids
        inner join one_id_chains as chains
            on ids.one_id = chains.old_one_id
            and chains.first_changed_date > ids.d0
            and chains.changed_date <= ids.d1

        union all

        select d0, d1, one_id as old_one_id, one_id from {{ ids }}
    )

    -- An id merged away by d1 is nobody on d1: its identifiers are counted where the merge took them.
    select distinct
        reached.d0,
        reached.d1,
        reached.old_one_id,
        reached.one_id
    from one_id_reached as reached
    left join one_id_changes as merges_by_d1
        on reached.one_id = merges_by_d1.old_one_id
        and merges_by_d1.cause = 'merge'
        and merges_by_d1.changed_date > reached.d0
        and merges_by_d1.changed_date <= reached.d1
    where merges_by_d1.old_one_id is null
{%- endmacro %}
