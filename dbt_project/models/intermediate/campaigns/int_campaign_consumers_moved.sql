-- Who a campaign could move into I or P, and who moved, in two audiences of the campaign's brand:
-- `exposed`, anchored on each consumer's first exposure day, and `control`, the brand's consumers
-- the campaign never reached, anchored on the campaign's first exposure day. The baseline is the
-- state on the eve of the anchor day (states are daily, so the anchor day already carries the
-- exposure's own effect); a consumer is in the base when that state is below I (none, O or A) and
-- moved when any day from the anchor day through anchor + campaign_attribution_days - 1, capped at
-- the run date, has state I or higher (I, P or L).
{%- set run_date = "cast('" ~ var('run_date') ~ "' as date)" %}
{%- set interest_rank = aipl_state_ranks()['I'] %}
{%- set window_end = dbt.dateadd('day', var('campaign_attribution_days') - 1, 'anchor_date') %}

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
    where valid_from <= {{ run_date }}
),

-- Consumers of the brand: any state spell or any touchpoint of the brand up to the run date. Ids
-- OneID has since merged away keep their closed spells in the history but are nobody today.
brand_consumers as (
    select one_id, brand_id from spells
    where one_id in (select one_id from {{ ref('dim_consumers') }})

    union

    select one_id, brand_id from {{ ref('fct_touchpoints') }}
    where touched_date <= {{ run_date }}
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
        cast({{ dbt.dateadd('day', -1, 'anchor_date') }} as date) as baseline_date,
        least(cast({{ window_end }} as date), {{ run_date }}) as window_end_date
    from (
        select * from exposed
        union all
        select * from control
    ) as unioned
),

-- A spell holds on day D when valid_from <= D < valid_to (valid_to null while current).
ranked as (
    select
        audiences.campaign_id,
        audiences.brand_id,
        audiences.one_id,
        audiences.audience,
        audiences.anchor_date,
        audiences.window_end_date,
        coalesce(max(case
            when spells.valid_from <= audiences.baseline_date
                and (spells.valid_to is null or spells.valid_to > audiences.baseline_date)
                then spells.state_rank
        end), 0) as baseline_rank,
        coalesce(max(case
            when spells.valid_from <= audiences.window_end_date
                and (spells.valid_to is null or spells.valid_to > audiences.anchor_date)
                then spells.state_rank
        end), 0) as peak_rank
    from audiences
    left join spells
        on audiences.one_id = spells.one_id
        and audiences.brand_id = spells.brand_id
        and spells.valid_from <= audiences.window_end_date
        and (spells.valid_to is null or spells.valid_to > audiences.baseline_date)
    group by
        audiences.campaign_id,
        audiences.brand_id,
        audiences.one_id,
        audiences.audience,
        audiences.anchor_date,
        audiences.window_end_date
)

select
    campaign_id,
    brand_id,
    one_id,
    audience,
    anchor_date,
    window_end_date,
    {{ aipl_state_of_rank('baseline_rank') }} as baseline_state,
    {{ aipl_state_of_rank('peak_rank') }} as peak_state,
    peak_rank >= {{ interest_rank }} as is_moved
from ranked
where baseline_rank < {{ interest_rank }}
