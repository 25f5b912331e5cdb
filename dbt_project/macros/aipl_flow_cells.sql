{#- Consumers counted by the pair of states they held lag_days apart, for every day d1 of the relation
    `end_days` (column d1) and every lag of `lags`: (brand_id, d0, d1, lag_days, rank_d0, rank_d1,
    consumers), ranks as aipl_state_rank gives them, none -> none not counted. `spells` is a relation
    of state spells (one_id, brand_id, state, valid_from, valid_to); `changed_after` as in
    one_id_successors.

    The counts are those of aipl_flow_transitions, grouped. Following a consumer through OneID's
    changes needs it day by day, so only the consumers whose ids changed take that way. The others
    (nearly all) keep one id throughout, so their pair of states changes only where one of their spells
    starts or ends on either side. Each such stretch counts from its first day to its last, and a
    running sum over the days gives every day's count. A restatement of two years then costs the
    consumers' spells, not the consumers times the days (hundreds of millions of rows). With
    `by_day`, for a night's one end day, the others are counted from the spells holding on d1 and
    on d0 instead: the stretches would cut every spell in reach into pieces to count one day. -#}
{% macro aipl_flow_cells(end_days, lags, spells, changed_after=none, by_day=false) -%}
    with changed_ids as (
        select old_one_id as one_id
        from {{ ref('stg_identity__one_id_changes') }}
        {%- if changed_after is not none %}
        where changed_date > {{ changed_after }}
        {%- endif %}
        union
        select new_one_id as one_id
        from {{ ref('stg_identity__one_id_changes') }}
        {%- if changed_after is not none %}
        where changed_date > {{ changed_after }}
        {%- endif %}
    ),

    -- Spells that can hold on a d0 or a d1: any that ends before the first d0 adds nothing.
    spells_in_reach as (
        select
            spells.one_id,
            spells.brand_id,
            spells.state,
            spells.valid_from,
            spells.valid_to
        from {{ spells }} as spells
        where
            spells.valid_from <= (select max(d1) from {{ end_days }})
            and (
                spells.valid_to is null
                or spells.valid_to > (
                    select {{ add_days('min(d1)', -(lags | max)) }} from {{ end_days }}
                )
            )
    ),

    spells_of_changed_ids as (
        select * from spells_in_reach
        where one_id in (select changed_ids.one_id from changed_ids)
    ),

    day_pairs_of_changed_ids as (
        {{ aipl_flow_day_pairs(end_days, lags) | indent(8) }}
    ),

    transitions_of_changed_ids as (
        {{ aipl_flow_transitions(
            'day_pairs_of_changed_ids', changed_after=changed_after, spells='spells_of_changed_ids'
        ) | indent(8) }}
    ),

    cells_of_changed_ids as (
        select
            brand_id,
            d1,
            lag_days,
            {{ aipl_state_rank('state_d0') }} as rank_d0,
            {{ aipl_state_rank('state_d1') }} as rank_d1,
            count(*) as consumers
        from transitions_of_changed_ids
        group by brand_id, d1, lag_days, state_d0, state_d1
    ),

    {%- if by_day %}

    -- Each consumer's state on each end day d1 and lag_days before it.
    states_at_ends as (
        {%- for lag in lags %}
        {%- set lag_loop = loop %}
        {%- for side in ['d0', 'd1'] %}
        {%- set day = add_days('end_days.d1', -lag) if side == 'd0' else 'end_days.d1' %}
        select
            spells_in_reach.one_id,
            spells_in_reach.brand_id,
            end_days.d1,
            {{ lag }} as lag_days,
            {{ aipl_state_rank('spells_in_reach.state') if side == 'd0' else 0 }} as rank_d0,
            {{ aipl_state_rank('spells_in_reach.state') if side == 'd1' else 0 }} as rank_d1
        from spells_in_reach
        inner join {{ end_days }} as end_days
            on {{ spell_holds_on('spells_in_reach', day) }}
        where spells_in_reach.one_id not in (select changed_ids.one_id from changed_ids)
        {{ "union all" if not (lag_loop.last and loop.last) }}
        {%- endfor %}
        {%- endfor %}
    ),

    pairs_at_ends as (
        select
            brand_id,
            d1,
            lag_days,
            max(rank_d0) as rank_d0,
            max(rank_d1) as rank_d1
        from states_at_ends
        group by one_id, brand_id, d1, lag_days
    ),

    cells_of_unchanged_ids as (
        select
            brand_id,
            d1,
            lag_days,
            rank_d0,
            rank_d1,
            count(*) as consumers
        from pairs_at_ends
        group by brand_id, d1, lag_days, rank_d0, rank_d1
    ),
    {%- else %}

    -- Each spell on both sides of a pair: on the d1 side as it is, on the d0 side lag_days later.
    sides as (
        {%- for lag in lags %}
        {%- set lag_loop = loop %}
        {%- for side in ['d0', 'd1'] %}
        {%- set shift = lag if side == 'd0' else 0 %}
        select
            one_id,
            brand_id,
            {{ lag }} as lag_days,
            {{ aipl_state_rank('state') if side == 'd0' else 0 }} as rank_d0,
            {{ aipl_state_rank('state') if side == 'd1' else 0 }} as rank_d1,
            {{ add_days('valid_from', shift) }} as valid_from,
            {{ add_days('valid_to', shift) }} as valid_to
        from spells_in_reach
        where one_id not in (select changed_ids.one_id from changed_ids)
        {{ "union all" if not (lag_loop.last and loop.last) }}
        {%- endfor %}
        {%- endfor %}
    ),

    boundaries as (
        select one_id, brand_id, lag_days, valid_from as day from sides
        union
        select one_id, brand_id, lag_days, valid_to as day from sides where valid_to is not null
    ),

    stretches as (
        select
            one_id,
            brand_id,
            lag_days,
            day as starts,
            lead(day) over (partition by one_id, brand_id, lag_days order by day) as ends
        from boundaries
    ),

    stretch_ranks as (
        select
            stretches.brand_id,
            stretches.lag_days,
            stretches.starts,
            stretches.ends,
            max(sides.rank_d0) as rank_d0,
            max(sides.rank_d1) as rank_d1
        from stretches
        inner join sides
            on stretches.one_id = sides.one_id
            and stretches.brand_id = sides.brand_id
            and stretches.lag_days = sides.lag_days
            and {{ spell_holds_on('sides', 'stretches.starts') }}
        group by
            stretches.one_id, stretches.brand_id, stretches.lag_days, stretches.starts, stretches.ends
    ),

    -- +1 on the first day of a stretch, -1 on the day after its last, and a 0 on every day counted.
    count_changes as (
        select brand_id, lag_days, rank_d0, rank_d1, starts as d1, 1 as change, false as counted
        from stretch_ranks
        union all
        select brand_id, lag_days, rank_d0, rank_d1, ends as d1, -1 as change, false as counted
        from stretch_ranks
        where ends is not null
        union all
        select cells.brand_id, cells.lag_days, cells.rank_d0, cells.rank_d1, end_days.d1, 0, true
        from (select distinct brand_id, lag_days, rank_d0, rank_d1 from stretch_ranks) as cells
        cross join {{ end_days }} as end_days
    ),

    daily_changes as (
        select
            brand_id,
            lag_days,
            rank_d0,
            rank_d1,
            d1,
            sum(change) as change,
            max(case when counted then 1 else 0 end) as counted
        from count_changes
        group by brand_id, lag_days, rank_d0, rank_d1, d1
    ),

    running_counts as (
        select
            brand_id,
            lag_days,
            rank_d0,
            rank_d1,
            d1,
            counted,
            sum(change) over (
                partition by brand_id, lag_days, rank_d0, rank_d1
                order by d1
                rows between unbounded preceding and current row
            ) as consumers
        from daily_changes
    ),

    cells_of_unchanged_ids as (
        select brand_id, d1, lag_days, rank_d0, rank_d1, consumers
        from running_counts
        where counted = 1
    ),
    {%- endif %}

    cells as (
        select brand_id, d1, lag_days, rank_d0, rank_d1, consumers
        from cells_of_unchanged_ids
        where rank_d0 + rank_d1 > 0
        union all
        select brand_id, d1, lag_days, rank_d0, rank_d1, consumers
        from cells_of_changed_ids
    )

    select
        brand_id,
        {{ add_days('d1', '-lag_days') }} as d0,
        d1,
        lag_days,
        rank_d0,
        rank_d1,
        {{ count_sum('consumers') }} as consumers
    from cells
    group by brand_id, d1, lag_days, rank_d0, rank_d1
    having sum(consumers) > 0
{%- endmacro %}
