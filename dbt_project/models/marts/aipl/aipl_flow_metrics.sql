-- Per brand, pair of days and state at d0: where its consumers went, and who came in from nothing.
with flows as (
    select * from {{ ref('aipl_flow') }}
),

from_state as (
    select
        brand_id,
        d0,
        d1,
        lag_days,
        state_d0 as state,
        {{ count_sum('consumers') }} as consumers_d0,
        {{ count_sum("case when state_d1 = state_d0 then consumers else 0 end") }} as stayed,
        {{ count_sum("case when rank_change > 0 then consumers else 0 end") }} as converted_up,
        {{ count_sum(
            "case when rank_change < 0 and state_d1 != 'none' then consumers else 0 end"
        ) }} as converted_down,
        {{ count_sum("case when state_d1 = 'none' then consumers else 0 end") }} as churned,
        {{ count_sum("case when rank_change = 1 then consumers else 0 end") }} as moved_next_layer
    from flows
    where state_d0 != 'none'
    group by brand_id, d0, d1, lag_days, state_d0
),

inflow as (
    select
        brand_id,
        d0,
        d1,
        lag_days,
        state_d1 as state,
        {{ count_sum('consumers') }} as new_inflow
    from flows
    where state_d0 = 'none'
    group by brand_id, d0, d1, lag_days, state_d1
)

-- A state can have inflow on a day no consumer held it at d0, so both sides are kept.
select
    {{ dbt.concat([
        'coalesce(from_state.brand_id, inflow.brand_id)', "':'",
        'cast(coalesce(from_state.d1, inflow.d1) as ' ~ dbt.type_string() ~ ')', "':'",
        'cast(coalesce(from_state.lag_days, inflow.lag_days) as ' ~ dbt.type_string() ~ ')', "':'",
        'coalesce(from_state.state, inflow.state)',
    ]) }} as flow_metric_id,
    coalesce(from_state.brand_id, inflow.brand_id) as brand_id,
    coalesce(from_state.d0, inflow.d0) as d0,
    coalesce(from_state.d1, inflow.d1) as d1,
    coalesce(from_state.lag_days, inflow.lag_days) as lag_days,
    coalesce(from_state.state, inflow.state) as state,
    {{ zero_if_missing('from_state', [
        'consumers_d0', 'stayed', 'converted_up', 'converted_down', 'churned',
    ]) | indent(4) }},
    coalesce(inflow.new_inflow, 0) as new_inflow,
    case
        when from_state.state in ('A', 'I', 'P')
            then cast(from_state.moved_next_layer as double) / from_state.consumers_d0
    end as next_layer_rate
from from_state
full outer join inflow
    on from_state.brand_id = inflow.brand_id
    and from_state.d1 = inflow.d1
    and from_state.lag_days = inflow.lag_days
    and from_state.state = inflow.state
