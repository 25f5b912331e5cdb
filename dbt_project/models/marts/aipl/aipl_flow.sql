{{ config(
    materialized='incremental',
    unique_key='flow_id',
    pre_hook="{{ rewind_nights_from('d1') }}",
) }}
-- Incremental: a night adds the matrices that end on its own day; earlier matrices do not change.
{%- set earliest_d0 = add_days(
    run_date(), -(var('aipl_flow_lags_days') | max)
) %}

with end_days as (
    {{ aipl_report_days('d1') | indent(4) }}
),

day_pairs as (
    {{ aipl_flow_day_pairs('end_days') | indent(4) }}
),

-- A night reads only the identity changes since its earliest d0.
transitions as (
    {{ aipl_flow_transitions(
        'day_pairs', changed_after=earliest_d0 if is_incremental() else none
    ) | indent(4) }}
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
