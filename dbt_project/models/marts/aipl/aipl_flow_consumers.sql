{{ config(materialized='table') }}
-- The run date's flows consumer by consumer, the members of each cell of that night's aipl_flow (an
-- audience of a flow cell reads them). Only the run date: a night replaces it.

with end_days as (
    select {{ run_date() }} as d1
),

day_pairs as (
    {{ aipl_flow_day_pairs('end_days') | indent(4) }}
),

transitions as (
    {{ aipl_flow_transitions(
        'day_pairs', changed_after=add_days(run_date(), -(var('aipl_flow_lags_days') | max))
    ) | indent(4) }}
)

select
    {{ dbt.concat([
        'brand_id', "':'", 'one_id', "':'", 'cast(lag_days as ' ~ dbt.type_string() ~ ')',
    ]) }} as flow_consumer_id,
    one_id,
    brand_id,
    d0,
    d1,
    lag_days,
    state_d0,
    state_d1
from transitions
