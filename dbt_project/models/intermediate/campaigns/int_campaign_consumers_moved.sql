-- Who a campaign could move into I or P, and who moved, in two audiences of the campaign's brand:
-- `exposed`, anchored on each consumer's first exposure day, and `control`, the brand's consumers
-- the campaign never reached, anchored on the campaign's first exposure day. The baseline is the
-- state on the eve of the anchor day (states are daily, so the anchor day already carries the
-- exposure's own effect); a consumer is in the base when that state is below I (none, O or A) and
-- moved when any day from the anchor day through anchor + campaign_attribution_days - 1, capped at
-- the run date, has state I or higher (I, P or L). Both read the consumer of the run date, not the
-- id: the spells of ids OneID has merged or split since count under the ids they became.
-- A table: its data tests and campaign_performance each read it, and as a view each would
-- compute every campaign's audiences again.
{{ config(materialized='table') }}
{%- set interest_rank = aipl_state_ranks()['I'] %}
{%- set audience_columns = [
    'campaign_id', 'brand_id', 'one_id', 'audience', 'anchor_date', 'window_end_date',
] %}

with exposed as (
    select
        campaign_id,
        brand_id,
        one_id,
        'exposed' as audience,
        first_exposed_date as anchor_date
    from {{ ref('int_campaign_consumers_exposed') }}
),

campaign_anchors as (
    select
        campaign_id,
        brand_id,
        min(first_exposed_date) as first_exposure_date
    from {{ ref('int_campaign_consumers_exposed') }}
    group by campaign_id, brand_id
),

spells as (
    select
        one_id,
        brand_id,
        valid_from,
        valid_to,
        {{ aipl_state_rank('state') }} as state_rank
    from {{ ref('aipl_state_history') }}
    where valid_from <= {{ run_date() }}
),

-- A spell is cut where its id changed: between two changes of an id, its identifiers became the
-- same consumers of the run date, whatever the day.
piece_starts as (
    select
        one_id,
        brand_id,
        valid_from,
        valid_to,
        state_rank,
        valid_from as piece_from
    from spells

    union

    select
        spells.one_id,
        spells.brand_id,
        spells.valid_from,
        spells.valid_to,
        spells.state_rank,
        changes.changed_date as piece_from
    from spells
    inner join {{ ref('stg_identity__one_id_changes') }} as changes
        on spells.one_id = changes.old_one_id
        and changes.changed_date > spells.valid_from
        and (spells.valid_to is null or changes.changed_date < spells.valid_to)
),

pieces as (
    select
        one_id,
        brand_id,
        piece_from,
        coalesce(
            lead(piece_from) over (partition by one_id, brand_id, valid_from order by piece_from),
            valid_to
        ) as piece_to,
        state_rank
    from piece_starts
),

piece_ids as (
    select distinct
        piece_from as d0,
        {{ run_date() }} as d1,
        one_id
    from pieces
),

successors as (
    {{ one_id_successors('piece_ids') | indent(4) }}
),

-- Moves follow the consumer, not the id: each piece of a spell counts under the consumers of the run
-- date its id became.
consumer_spells as (
    select distinct
        successors.one_id,
        pieces.brand_id,
        pieces.piece_from as valid_from,
        pieces.piece_to as valid_to,
        pieces.state_rank
    from pieces
    inner join successors
        on pieces.piece_from = successors.d0
        and pieces.one_id = successors.old_one_id
),

-- Consumers of the brand: any state spell or any touchpoint of the brand up to the run date.
brand_consumers as (
    select
        one_id,
        brand_id
    from consumer_spells
    where one_id in (select consumers.one_id from {{ ref('dim_consumers') }} as consumers)

    union

    select
        one_id,
        brand_id
    from {{ ref('fct_touchpoints') }}
    where touched_date <= {{ run_date() }}
),

control as (
    select
        campaign_anchors.campaign_id,
        campaign_anchors.brand_id,
        brand_consumers.one_id,
        'control' as audience,
        campaign_anchors.first_exposure_date as anchor_date
    from campaign_anchors
    inner join brand_consumers
        on campaign_anchors.brand_id = brand_consumers.brand_id
    left join exposed
        on campaign_anchors.campaign_id = exposed.campaign_id
        and brand_consumers.one_id = exposed.one_id
    where exposed.one_id is null
),

audiences as (
    select
        campaign_id,
        brand_id,
        one_id,
        audience,
        anchor_date,
        {{ add_days('anchor_date', -1) }} as baseline_date,
        least(
            {{ add_days('anchor_date', var('campaign_attribution_days') - 1) }}, {{ run_date() }}
        ) as window_end_date
    from (
        select * from exposed
        union all
        select * from control
    ) as unioned
),

-- The baseline is the state on the eve of the anchor day; the peak, the deepest state of the window.
ranked as (
    select
        {{ column_list(audience_columns, 'audiences') | indent(8) }},
        coalesce(max(case
            when {{ spell_holds_on('spells', 'audiences.baseline_date') }} then spells.state_rank
        end), 0) as baseline_rank,
        coalesce(max(case
            when {{ spell_overlaps('spells', 'audiences.anchor_date', 'audiences.window_end_date') }}
                then spells.state_rank
        end), 0) as peak_rank
    from audiences
    left join consumer_spells as spells
        on audiences.one_id = spells.one_id
        and audiences.brand_id = spells.brand_id
        and {{ spell_overlaps('spells', 'audiences.baseline_date', 'audiences.window_end_date') }}
    group by
        {{ column_list(audience_columns, 'audiences') | indent(8) }}
)

select
    {{ column_list(audience_columns) | indent(4) }},
    {{ aipl_state_of_rank('baseline_rank') }} as baseline_state,
    {{ aipl_state_of_rank('peak_rank') }} as peak_state,
    peak_rank >= {{ interest_rank }} as is_moved
from ranked
where baseline_rank < {{ interest_rank }}
