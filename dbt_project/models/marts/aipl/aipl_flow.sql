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

-- A night reads only the identity changes since its earliest d0.
cells as (
    {{ aipl_flow_cells(
        'end_days',
        var('aipl_flow_lags_days'),
        ref('aipl_state_history'),
        changed_after=earliest_d0 if is_incremental() else none,
        by_day=is_incremental(),
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
    rank_d1 - rank_d0 as rank_change,
    consumers
from (
    select
        *,
        {{ aipl_state_of_rank('rank_d0') }} as state_d0,
        {{ aipl_state_of_rank('rank_d1') }} as state_d1
    from cells
) as named_cells
