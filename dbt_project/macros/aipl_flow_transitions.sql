{#- The pairs of days (d0, d1) a flow compares: d0 = d1 - lag for every lag of `lags` (by default
    var aipl_flow_lags_days), for each d1 of the relation `end_days`. -#}
{% macro aipl_flow_day_pairs(end_days, lags=none) -%}
    {%- for lag in lags or var('aipl_flow_lags_days') %}
    select
        {{ add_days('d1', -lag) }} as d0,
        d1,
        {{ lag }} as lag_days
    from {{ end_days }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- Each consumer's state at d0 and at d1 for every pair of the relation `day_pairs` (d0, d1,
    lag_days), one row per consumer of d1 with a state on either day. A flow follows the consumer,
    not the id (docs/aipl.md): the d0 spells of the ids that became a consumer of d1 count under that
    consumer, whose d0 state is the deepest of them. `changed_after`: see one_id_successors. `spells`:
    a relation of state spells, by default aipl_state_history. -#}
{% macro aipl_flow_transitions(day_pairs, changed_after=none, spells=none) -%}
    with ranks_held as (
        {%- for side in ['d0', 'd1'] %}
        select
            '{{ side }}' as side,
            spells.one_id,
            spells.brand_id,
            day_pairs.d0,
            day_pairs.d1,
            day_pairs.lag_days,
            {{ aipl_state_rank('spells.state') }} as state_rank
        from {{ day_pairs }} as day_pairs
        inner join {{ spells or ref('aipl_state_history') }} as spells
            on {{ spell_holds_on('spells', 'day_pairs.' ~ side) }}
        {{ "union all" if not loop.last }}
        {%- endfor %}
    ),

    spells_d0 as (
        select * from ranks_held where side = 'd0'
    ),

    ids_d0 as (
        select distinct d0, d1, one_id from spells_d0
    ),

    successors as (
        {{ one_id_successors('ids_d0', changed_after=changed_after) | indent(8) }}
    ),

    states_d0 as (
        select
            successors.one_id,
            spells_d0.brand_id,
            spells_d0.d0,
            spells_d0.d1,
            spells_d0.lag_days,
            max(spells_d0.state_rank) as state_rank
        from spells_d0
        inner join successors
            on spells_d0.d0 = successors.d0
            and spells_d0.d1 = successors.d1
            and spells_d0.one_id = successors.old_one_id
        group by successors.one_id, spells_d0.brand_id, spells_d0.d0, spells_d0.d1, spells_d0.lag_days
    ),

    states_d1 as (
        select * from ranks_held where side = 'd1'
    )

    select
        coalesce(states_d0.one_id, states_d1.one_id) as one_id,
        coalesce(states_d0.brand_id, states_d1.brand_id) as brand_id,
        coalesce(states_d0.d0, states_d1.d0) as d0,
        coalesce(states_d0.d1, states_d1.d1) as d1,
        coalesce(states_d0.lag_days, states_d1.lag_days) as lag_days,
        {{ aipl_state_of_rank('coalesce(states_d0.state_rank, 0)') }} as state_d0,
        {{ aipl_state_of_rank('coalesce(states_d1.state_rank, 0)') }} as state_d1
    from states_d0
    full outer join states_d1
        on states_d0.one_id = states_d1.one_id
        and states_d0.brand_id = states_d1.brand_id
        and states_d0.d0 = states_d1.d0
        and states_d0.d1 = states_d1.d1
{%- endmacro %}
