{#- A comparison across days follows the consumer, not the id (AIPL.md, settled interpretations). For
    each row (d0, d1, one_id) of the relation `ids` (an id as of night d0), the ids of night d1 that
    its identifiers became, following OneID's merges and splits of (d0, d1] in the order they happened:
    the id itself unless it was merged away, the id it merged into, the ids parts of it split off to,
    and on through the later changes of those. Returns (d0, d1, old_one_id, one_id); an id without
    changes maps to itself. `changed_after`, a date at or before every d0, limits the history read to
    the nights after it, so that a night reads only the changes of its own window. -#}
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

    -- Each step of a chain is a later night than the step before: an id a change made on one night
    -- changes again only on a later one.
    one_id_paths as (
        select
            ids.d0,
            ids.d1,
            ids.one_id as old_one_id,
            changes.new_one_id as one_id,
            changes.changed_date
        from {{ ids }} as ids
        inner join one_id_changes as changes
            on ids.one_id = changes.old_one_id
            and changes.changed_date > ids.d0
            and changes.changed_date <= ids.d1

        union all

        select
            paths.d0,
            paths.d1,
            paths.old_one_id,
            changes.new_one_id as one_id,
            changes.changed_date
        from one_id_paths as paths
        inner join one_id_changes as changes
            on paths.one_id = changes.old_one_id
            and changes.changed_date > paths.changed_date
            and changes.changed_date <= paths.d1
    ),

    one_id_reached as (
        select d0, d1, old_one_id, one_id from one_id_paths
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
    left join one_id_changes as merges
        on reached.one_id = merges.old_one_id
        and merges.cause = 'merge'
        and merges.changed_date > reached.d0
        and merges.changed_date <= reached.d1
    where merges.old_one_id is null
{%- endmacro %}
