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

days_as_d1 as (
    select fast_date as d1 from days
),

-- O (opportunity) is no asset and ranks as none here.
asset_spells as (
    select
        one_id,
        brand_id,
        state,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to
    from {{ ref('aipl_state_history') }}
    where state in ('A', 'I', 'P', 'L')
),

-- Consumers by their asset state on the day and fast_advancing_lag_days before, followed through
-- OneID's changes as aipl_flow follows them. A night reads only the identity changes of its lag.
asset_cells as (
    {{ aipl_flow_cells(
        'days_as_d1',
        [lag_days],
        'asset_spells',
        changed_after=add_days(run_date(), -lag_days) if is_incremental() else none,
        by_day=is_incremental(),
    ) | indent(4) }}
),

fertility_advancing as (
    select
        brand_id,
        d1 as fast_date,
        {{ count_sum('case when rank_d1 > 0 then consumers else 0 end') }} as asset_consumers,
        {{ count_sum('case when rank_d0 > 0 then consumers else 0 end') }} as lagged_asset_consumers,
        {{ count_sum('case when rank_d0 > 0 and rank_d1 > rank_d0 then consumers else 0 end') }} as deepened_consumers,
        {{ count_sum('case when rank_d0 = 0 and rank_d1 > 0 then consumers else 0 end') }} as entered_consumers
    from asset_cells
    group by brand_id, d1
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
