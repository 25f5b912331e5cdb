{{ config(
    materialized='incremental',
    unique_key='spell_id',
    pre_hook=[
        "{{ rewind_spells_from(run_date()) }}",
        "{{ reopen_spells_from(run_date()) }}",
    ],
) }}
-- depends_on: {{ ref('int_trade_area_presence') }}
-- depends_on: {{ ref('stg_identity__identity_map') }}
-- The AIPL rules applied to each consumer and brand on the days evaluated, and the spells of equal
-- states they make. Incremental: a night evaluates the run date only and closes or opens the spells
-- that changed; a full build evaluates the days on which a state can change (int_aipl_evaluation_days).
{%- set awareness = var('aipl_awareness_window_days') %}
{%- set interest = var('aipl_interest_window_days') %}
{%- set purchase = var('aipl_purchase_window_days') %}
{%- set loyalty = var('aipl_loyalty_window_days') %}
{%- set opportunity = var('aipl_opportunity_window_days') %}
{%- set longest = [awareness, interest, purchase, loyalty] | max %}

with behaviours as (
    {%- if is_incremental() %}
    -- Tonight needs only behaviours still inside a window: the short windows' few days of touches and
    -- the purchases and reviews of the long ones.
    {{ aipl_daily_behaviours(
        "touches.touched_date <= " ~ run_date() ~ " and (touches.touched_date > "
        ~ add_days(run_date(), -([awareness, interest] | max))
        ~ " or (touches.behaviour in ('purchase', 'review_positive') and touches.touched_date > "
        ~ add_days(run_date(), -longest) ~ "))"
    ) | indent(4) }}
    {%- else %}
    {{ aipl_daily_behaviours("touches.touched_date <= " ~ run_date()) | indent(4) }}
    {%- endif %}
),

memberships as (
    {{ aipl_active_memberships() | indent(4) }}
),

{% if var('oaipl') %}
presence as (
    {{ aipl_trade_area_presence() | indent(4) }}
),
{% endif %}

{% if is_incremental() %}
open_spells as (
    select * from {{ this }}
    where valid_to is null
),

-- A night evaluates the run date for each consumer and brand with evidence inside a window or an
-- open spell: an id OneID merged or re-resolved since is evaluated with the evidence it has now, and
-- the open spell of an id left with none closes.
evaluations as (
    select distinct
        one_id,
        brand_id,
        {{ run_date() }} as state_date
    from (
        select
            one_id,
            brand_id
        from behaviours
        where behaviour_date > {{ add_days(run_date(), -longest) }}
        union all
        select
            one_id,
            brand_id
        from memberships
        where {{ spell_holds_on('memberships', run_date()) }}
        union all
        select
            one_id,
            brand_id
        from open_spells
        {%- if var('oaipl') %}
        union all
        select
            one_id,
            brand_id
        from presence
        where seen_date > {{ add_days(run_date(), -opportunity) }}
        {%- endif %}
    ) as pairs
),
{% else %}
evaluations as (
    select
        one_id,
        brand_id,
        state_date
    from {{ ref('int_aipl_evaluation_days') }}
),
{% endif %}

evidence as (
    select
        evaluations.one_id,
        evaluations.brand_id,
        evaluations.state_date,
        behaviours.behaviour_date,
        {{ dbt.datediff('behaviours.behaviour_date', 'evaluations.state_date', 'day') }} as days_ago,
        cast(behaviours.behaviour_date as {{ dbt.type_string() }}) as day_key,
        behaviours.awareness_behaviour,
        behaviours.interest_behaviour,
        behaviours.has_page_view,
        coalesce(behaviours.purchase_counts_until > evaluations.state_date, false) as has_counting_purchase,
        behaviours.has_positive_review
    from evaluations
    left join behaviours
        on evaluations.one_id = behaviours.one_id
        and evaluations.brand_id = behaviours.brand_id
        and behaviours.behaviour_date <= evaluations.state_date
        and behaviours.behaviour_date > {{ add_days('evaluations.state_date', -longest) }}
),

-- Per evaluated day: what each rule sees inside its window, and the latest behaviour of each stage
-- as '<YYYY-MM-DD><behaviour>' (the greatest is the latest).
scored as (
    select
        one_id,
        brand_id,
        state_date,
        count(distinct case
            when has_counting_purchase and days_ago < {{ loyalty }} then behaviour_date
        end) as loyalty_purchase_days,
        max(case when has_positive_review and days_ago < {{ loyalty }} then 1 else 0 end) = 1
            as has_loyalty_review,
        max(case when has_counting_purchase and days_ago < {{ purchase }} then 1 else 0 end) = 1
            as has_purchase,
        max(case when interest_behaviour is not null and days_ago < {{ interest }} then 1 else 0 end) = 1
            as has_interest_behaviour,
        count(distinct case
            when has_page_view and days_ago < {{ interest }} then behaviour_date
        end) as page_view_days,
        max(case
            when awareness_behaviour is not null and days_ago < {{ awareness }} then 1 else 0
        end) = 1 as has_awareness_behaviour,
        max(case
            when has_positive_review and days_ago < {{ loyalty }}
                then {{ dbt.concat(['day_key', "'review_positive'"]) }}
            when has_counting_purchase and days_ago < {{ loyalty }}
                then {{ dbt.concat(['day_key', "'purchase'"]) }}
        end) as latest_loyalty,
        max(case
            when has_counting_purchase and days_ago < {{ purchase }}
                then {{ dbt.concat(['day_key', "'purchase'"]) }}
        end) as latest_purchase,
        max(case
            when interest_behaviour is not null and days_ago < {{ interest }}
                then {{ dbt.concat(['day_key', 'interest_behaviour']) }}
        end) as latest_interest,
        max(case
            when has_page_view and days_ago < {{ interest }}
                then {{ dbt.concat(['day_key', "'page_view'"]) }}
        end) as latest_page_view,
        max(case
            when awareness_behaviour is not null and days_ago < {{ awareness }}
                then {{ dbt.concat(['day_key', 'awareness_behaviour']) }}
        end) as latest_awareness
    from evidence
    group by one_id, brand_id, state_date
),

members_on_day as (
    select distinct
        evaluations.one_id,
        evaluations.brand_id,
        evaluations.state_date
    from evaluations
    inner join memberships
        on evaluations.one_id = memberships.one_id
        and evaluations.brand_id = memberships.brand_id
        and {{ spell_holds_on('memberships', 'evaluations.state_date') }}
),

{% if var('oaipl') %}
present_on_day as (
    select distinct
        evaluations.one_id,
        evaluations.brand_id,
        evaluations.state_date
    from evaluations
    inner join presence
        on evaluations.one_id = presence.one_id
        and evaluations.brand_id = presence.brand_id
        and presence.seen_date <= evaluations.state_date
        and presence.seen_date > {{ add_days('evaluations.state_date', -opportunity) }}
),
{% endif %}

-- L, P, I, A in that order: the first rule that holds is the state.
rules as (
    select
        scored.*,
        case
            when scored.loyalty_purchase_days >= {{ var('aipl_purchase_days_for_loyalty') }}
                or scored.has_loyalty_review then 'L'
            when scored.has_purchase then 'P'
            when scored.has_interest_behaviour
                or scored.page_view_days >= {{ var('aipl_page_view_days_for_interest') }}
                or members_on_day.one_id is not null then 'I'
            when scored.has_awareness_behaviour then 'A'
            {%- if var('oaipl') %}
            when present_on_day.one_id is not null then 'O'
            {%- endif %}
        end as state
    from scored
    left join members_on_day
        on scored.one_id = members_on_day.one_id
        and scored.brand_id = members_on_day.brand_id
        and scored.state_date = members_on_day.state_date
    {%- if var('oaipl') %}
    left join present_on_day
        on scored.one_id = present_on_day.one_id
        and scored.brand_id = present_on_day.brand_id
        and scored.state_date = present_on_day.state_date
    {%- endif %}
),

-- The behaviour that holds the state: the latest of its rule (keys are '<YYYY-MM-DD><behaviour>').
states as (
    select
        one_id,
        brand_id,
        state_date,
        state,
        case
            when state = 'L' then substring(latest_loyalty, 11)
            when state = 'P' then substring(latest_purchase, 11)
            when
                state = 'I'
                and page_view_days >= {{ var('aipl_page_view_days_for_interest') }}
                and (latest_interest is null or latest_page_view > latest_interest)
                then substring(latest_page_view, 11)
            when state = 'I' and has_interest_behaviour then substring(latest_interest, 11)
            when state = 'I' then 'membership'
            when state = 'A' then substring(latest_awareness, 11)
            when state = 'O' then 'trade_area_presence'
        end as opened_by_behaviour
    from rules
),

{% if is_incremental() %}
spells as (
    -- The open spell of a consumer whose state changed tonight closes tonight...
    select
        open_spells.one_id,
        open_spells.brand_id,
        open_spells.state,
        open_spells.valid_from,
        {{ run_date() }} as valid_to,
        open_spells.opened_by_behaviour
    from open_spells
    inner join states
        on open_spells.one_id = states.one_id
        and open_spells.brand_id = states.brand_id
    where open_spells.state != coalesce(states.state, 'none')

    union all

    -- ...and a spell of the new state, if any, opens.
    select
        states.one_id,
        states.brand_id,
        states.state,
        states.state_date as valid_from,
        cast(null as date) as valid_to,
        states.opened_by_behaviour
    from states
    left join open_spells
        on states.one_id = open_spells.one_id
        and states.brand_id = open_spells.brand_id
    where states.state is not null
        and states.state != coalesce(open_spells.state, 'none')
)
{% else %}
changes as (
    select
        one_id,
        brand_id,
        state_date,
        state,
        opened_by_behaviour,
        coalesce(state, 'none') != coalesce(
            lag(state) over (partition by one_id, brand_id order by state_date), 'none'
        ) as is_change
    from states
),

spells as (
    select
        one_id,
        brand_id,
        state,
        state_date as valid_from,
        lead(state_date) over (partition by one_id, brand_id order by state_date) as valid_to,
        opened_by_behaviour
    from changes
    where is_change
)
{% endif %}

select
    {{ dbt.concat(['one_id', "':'", 'brand_id', "':'", 'cast(valid_from as ' ~ dbt.type_string() ~ ')']) }}
        as spell_id,
    one_id,
    brand_id,
    state,
    valid_from,
    valid_to,
    opened_by_behaviour
from spells
where state is not null
