{{ config(
    materialized='incremental',
    unique_key=['brand_id', 'fast_date'],
    pre_hook="{{ rewind_nights_from('fast_date') }}",
) }}
-- Incremental: a night adds its own day, which needs only the spells around it and the last
-- fast_thriving_window_days of behaviours; a full build counts every day from the first state
-- day.
{%- set lag_days = var('fast_advancing_lag_days') %}
{%- set window = var('fast_thriving_window_days') %}

with days as (
    select calendar_date as fast_date
    from {{ ref('int_calendar_days') }}
    {%- if is_incremental() %}
    where calendar_date = {{ run_date() }}
    {%- else %}
    where
        calendar_date >= (
            select min(cast(spells.valid_from as date)) as first_spell_date
            from {{ ref('aipl_state_history') }} as spells
        )
        and calendar_date <= {{ run_date() }}
    {%- endif %}
),

-- O (opportunity) is no asset and ranks as none here.
asset_spells as (
    select
        one_id,
        brand_id,
        {{ aipl_state_rank('state') }} as state_rank,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to
    from {{ ref('aipl_state_history') }}
    where state in ('A', 'I', 'P', 'L')
),

states_on_day as (
    select
        days.fast_date,
        spells.one_id,
        spells.brand_id,
        spells.state_rank
    from days
    inner join asset_spells as spells
        on {{ spell_holds_on('spells', 'days.fast_date') }}
),

lagged_spells as (
    select
        {{ add_days('days.fast_date', -lag_days) }} as d0,
        days.fast_date as d1,
        spells.one_id,
        spells.brand_id,
        spells.state_rank
    from days
    inner join asset_spells as spells
        on {{ spell_holds_on('spells', add_days('days.fast_date', -lag_days)) }}
),

lagged_ids as (
    select distinct
        d0,
        d1,
        one_id
    from lagged_spells
),

-- A night reads only the identity changes of its own lag.
lagged_successors as (
    {{ one_id_successors(
        'lagged_ids',
        changed_after=add_days(run_date(), -lag_days) if is_incremental() else none,
    ) | indent(4) }}
),

-- The state of fast_advancing_lag_days before, on the row of the day it is compared on, under the
-- consumer the ids of that day became (the deepest where several ids became one consumer).
states_on_lagged_day as (
    select
        lagged.d1 as fast_date,
        successors.one_id,
        lagged.brand_id,
        max(lagged.state_rank) as state_rank
    from lagged_spells as lagged
    inner join lagged_successors as successors
        on lagged.d0 = successors.d0
        and lagged.d1 = successors.d1
        and lagged.one_id = successors.old_one_id
    group by lagged.d1, successors.one_id, lagged.brand_id
),

fertility_advancing as (
    select
        coalesce(on_day.brand_id, lagged.brand_id) as brand_id,
        coalesce(on_day.fast_date, lagged.fast_date) as fast_date,
        count(on_day.one_id) as asset_consumers,
        count(lagged.one_id) as lagged_asset_consumers,
        count(case when on_day.state_rank > lagged.state_rank then 1 end) as deepened_consumers,
        count(case when lagged.one_id is null then on_day.one_id end) as entered_consumers
    from states_on_day as on_day
    full outer join states_on_lagged_day as lagged
        on on_day.one_id = lagged.one_id
        and on_day.brand_id = lagged.brand_id
        and on_day.fast_date = lagged.fast_date
    group by
        coalesce(on_day.brand_id, lagged.brand_id),
        coalesce(on_day.fast_date, lagged.fast_date)
),

-- A consumer holding two member ids of a brand is one member.
members_on_day as (
    select distinct
        days.fast_date,
        spells.one_id,
        spells.brand_id
    from days
    inner join {{ ref('int_membership_spells') }} as spells
        on spells.is_active
        and {{ spell_holds_on('spells', 'days.fast_date') }}
),

engagement_spells as (
    {%- if is_incremental() %}
    {#- The interest window reaches back for the page views that make Interest inside the window. #}
    {{ health_engagement_spells(
        "touches.touched_date <= " ~ run_date() ~ " and touches.touched_date > "
        ~ add_days(run_date(), -(window + var('aipl_interest_window_days')))
    ) }}
    {%- else %}
    {{ health_engagement_spells("touches.touched_date <= " ~ run_date()) }}
    {%- endif %}
),

superiority_thriving as (
    select
        members.brand_id,
        members.fast_date,
        count(*) as active_members,
        count(engaged.one_id) as thriving_members
    from members_on_day as members
    left join engagement_spells as engaged
        on members.one_id = engaged.one_id
        and members.brand_id = engaged.brand_id
        and {{ spell_holds_on('engaged', 'members.fast_date') }}
    group by members.brand_id, members.fast_date
),

brand_days as (
    select
        brands.brand_id,
        days.fast_date
    from {{ ref('stg_reference__brands') }} as brands
    cross join days
),

counts as (
    select
        brand_days.brand_id,
        brand_days.fast_date,
        {{ zero_if_missing('fertility_advancing', [
            'asset_consumers', 'lagged_asset_consumers', 'deepened_consumers', 'entered_consumers',
        ]) | indent(8) }},
        {{ zero_if_missing('superiority_thriving', ['active_members', 'thriving_members']) | indent(8) }}
    from brand_days
    left join fertility_advancing
        on brand_days.brand_id = fertility_advancing.brand_id
        and brand_days.fast_date = fertility_advancing.fast_date
    left join superiority_thriving
        on brand_days.brand_id = superiority_thriving.brand_id
        and brand_days.fast_date = superiority_thriving.fast_date
)

select
    brand_id,
    fast_date,
    asset_consumers,
    lagged_asset_consumers,
    deepened_consumers,
    entered_consumers,
    deepened_consumers + entered_consumers as advancing_consumers,
    case
        when lagged_asset_consumers > 0
            then cast(deepened_consumers + entered_consumers as double) / lagged_asset_consumers
    end as advancing_rate,
    case
        when lagged_asset_consumers > 0
            then cast(deepened_consumers as double) / lagged_asset_consumers
    end as deepening_rate,
    active_members,
    thriving_members,
    case
        when active_members > 0 then cast(thriving_members as double) / active_members
    end as thriving_rate
from counts
