{{ config(
    materialized='incremental',
    unique_key='flow_id',
    pre_hook="{{ rewind_nights_from('d1') }}",
) }}
-- Incremental: a night adds the matrices that end on its own day; earlier matrices do not change.

with end_days as (
    {{ aipl_report_days('d1') | indent(4) }}
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

-- Each consumer's state at d0 and at d1, for every consumer with a state on either day.
transitions as (
    select
        spells.brand_id,
        day_pairs.d0,
        day_pairs.d1,
        day_pairs.lag_days,
        coalesce(max(case when {{ spell_holds_on('spells', 'day_pairs.d0') }} then spells.state end), 'none')
            as state_d0,
        coalesce(max(case when {{ spell_holds_on('spells', 'day_pairs.d1') }} then spells.state end), 'none')
            as state_d1
    from day_pairs
    inner join {{ ref('aipl_state_history') }} as spells
        on {{ spell_holds_on('spells', 'day_pairs.d0') }} or {{ spell_holds_on('spells', 'day_pairs.d1') }}
    group by spells.one_id, spells.brand_id, day_pairs.d0, day_pairs.d1, day_pairs.lag_days
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
