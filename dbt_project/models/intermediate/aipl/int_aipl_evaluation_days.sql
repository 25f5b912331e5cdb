-- The days on which a consumer's AIPL state for a brand can change, up to the run date: a day with
-- a behaviour, the day a behaviour leaves its window, the day refunds cover a purchase in full, the
-- days a membership starts and ends, and under the oaipl scheme the days of trade-area presence and
-- the day each leaves its window. Nothing the rules read changes between two of these days, so a
-- full build of aipl_state_history evaluates the rules on them alone.
-- depends_on: {{ ref('int_trade_area_presence') }}
-- depends_on: {{ ref('stg_identity__identity_map') }}
{%- set awareness = var('aipl_awareness_window_days') %}
{%- set interest = var('aipl_interest_window_days') %}
{%- set purchase = var('aipl_purchase_window_days') %}
{%- set loyalty = var('aipl_loyalty_window_days') %}

with behaviours as (
    {{ aipl_daily_behaviours("touches.touched_date <= " ~ run_date()) | indent(4) }}
),

change_days as (
    select
        one_id,
        brand_id,
        behaviour_date as state_date
    from behaviours
    {#- The day a behaviour leaves each window it counts in. #}
    {%- for window_days, counted in [
        (awareness, 'awareness_behaviour is not null'),
        (interest, 'interest_behaviour is not null or has_page_view'),
        (purchase, 'purchase_counts_until is not null'),
        (loyalty, 'purchase_counts_until is not null or has_positive_review'),
    ] %}
    union all
    select
        one_id,
        brand_id,
        {{ add_days('behaviour_date', window_days) }} as state_date
    from behaviours
    where {{ counted }}
    {%- endfor %}
    union all
    select
        one_id,
        brand_id,
        purchase_counts_until as state_date
    from behaviours
    {%- for day in ['valid_from', 'valid_to'] %}
    union all
    select
        one_id,
        brand_id,
        {{ day }} as state_date
    from ({{ aipl_active_memberships() | indent(4) }}) as memberships
    {%- endfor %}
    {%- if var('oaipl') %}
    {%- for day in ['seen_date', add_days('seen_date', var('aipl_opportunity_window_days'))] %}
    union all
    select
        one_id,
        brand_id,
        {{ day }} as state_date
    from ({{ aipl_trade_area_presence() | indent(4) }}) as presence
    {%- endfor %}
    {%- endif %}
)

select distinct
    one_id,
    brand_id,
    state_date
from change_days
where state_date <= {{ run_date() }}
