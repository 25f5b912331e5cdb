{{ config(materialized='incremental', unique_key='flow_id') }}
-- Incremental: a night adds the matrices that end on its own day; earlier matrices do not change.
{%- set run_date = "cast('" ~ var('run_date') ~ "' as date)" %}

with end_days as (
    select calendar_date as d1
    from {{ ref('int_calendar_days') }}
    {%- if is_incremental() %}
    where calendar_date = {{ run_date }}
    {%- else %}
    where calendar_date >= (select min(valid_from) from {{ ref('aipl_state_history') }})
    {%- endif %}
),

day_pairs as (
    {%- for lag in var('aipl_flow_lags_days') %}
    select
        cast({{ dbt.dateadd('day', -lag, 'd1') }} as date) as d0,
        d1,
        {{ lag }} as lag_days
    from end_days
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

spells as (
    select * from {{ ref('aipl_state_history') }}
),

-- Each consumer's state at d0 and at d1, for every consumer with a state on either day.
states_at_d0 as (
    select
        day_pairs.d0,
        day_pairs.d1,
        day_pairs.lag_days,
        spells.one_id,
        spells.brand_id,
        spells.state
    from day_pairs
    inner join spells
        on spells.valid_from <= day_pairs.d0
        and (spells.valid_to is null or spells.valid_to > day_pairs.d0)
),

states_at_d1 as (
    select
        day_pairs.d0,
        day_pairs.d1,
        day_pairs.lag_days,
        spells.one_id,
        spells.brand_id,
        spells.state
    from day_pairs
    inner join spells
        on spells.valid_from <= day_pairs.d1
        and (spells.valid_to is null or spells.valid_to > day_pairs.d1)
),

transitions as (
    select
        coalesce(states_at_d0.brand_id, states_at_d1.brand_id) as brand_id,
        coalesce(states_at_d0.d0, states_at_d1.d0) as d0,
        coalesce(states_at_d0.d1, states_at_d1.d1) as d1,
        coalesce(states_at_d0.lag_days, states_at_d1.lag_days) as lag_days,
        coalesce(states_at_d0.state, 'none') as state_d0,
        coalesce(states_at_d1.state, 'none') as state_d1
    from states_at_d0
    full outer join states_at_d1
        on states_at_d0.one_id = states_at_d1.one_id
        and states_at_d0.brand_id = states_at_d1.brand_id
        and states_at_d0.d1 = states_at_d1.d1
        and states_at_d0.lag_days = states_at_d1.lag_days
)

select
    {{ dbt.concat([
        'brand_id', "':'", 'cast(d1 as ' ~ dbt.type_string() ~ ')', "':'",
        'cast(lag_days as ' ~ dbt.type_string() ~ ')', "':'", 'state_d0', "':'", 'state_d1',
    ]) }} as flow_id,
    brand_id,
    d0,
    d1,
    lag_days,
    state_d0,
    state_d1,
    {{ aipl_state_rank('state_d1') }} - {{ aipl_state_rank('state_d0') }} as rank_change,
    count(*) as consumers
from transitions
group by brand_id, d0, d1, lag_days, state_d0, state_d1
