{#- Spells during which a consumer has, per brand, an Interest, Purchase or Loyalty behaviour of the
    last fast_thriving_window_days (FAST's T). The behaviours are docs/aipl.md's (through aipl_stage and
    aipl_daily_behaviours, so the two cannot drift apart); an active membership counts toward I as a
    status, not a behaviour, and does not count here, or every member would thrive. A behaviour of
    day b counts on days D with 0 <= D - b < window; a purchase only until the refunds that cover it
    in full; page views once the brand's pages were viewed on aipl_page_view_days_for_interest
    distinct days inside the interest window. `where` narrows the touchpoints read. Returns one
    query (with its own CTEs) giving one_id, brand_id, valid_from, valid_to (exclusive). -#}
{% macro health_engagement_spells(where="1 = 1") -%}
{%- set window = var('fast_thriving_window_days') %}
{%- set interest = var('aipl_interest_window_days') %}
    with engagement_days as (
        {{ aipl_daily_behaviours(
            "(" ~ where ~ ") and (" ~ aipl_stage('touches.behaviour') ~ " in ('I', 'P', 'L')"
            ~ " or touches.behaviour = 'page_view')"
        ) | indent(8) }}
    ),

    engagement_page_view_days as (
        select
            one_id,
            brand_id,
            behaviour_date
        from engagement_days
        where has_page_view
    ),

    -- Page views are an Interest behaviour on a day the brand's pages were viewed on enough
    -- distinct days inside the interest window ending that day.
    engagement_page_view_interest as (
        select
            later.one_id,
            later.brand_id,
            later.behaviour_date
        from engagement_page_view_days as later
        inner join engagement_page_view_days as earlier
            on later.one_id = earlier.one_id
            and later.brand_id = earlier.brand_id
            and earlier.behaviour_date <= later.behaviour_date
            and earlier.behaviour_date > {{ add_days('later.behaviour_date', -interest) }}
        group by later.one_id, later.brand_id, later.behaviour_date
        having count(*) >= {{ var('aipl_page_view_days_for_interest') }}
    ),

    engagement_intervals as (
        select
            one_id,
            brand_id,
            behaviour_date as valid_from,
            {{ add_days('behaviour_date', window) }} as valid_to
        from engagement_days
        where interest_behaviour is not null or has_positive_review

        union all

        select
            one_id,
            brand_id,
            behaviour_date as valid_from,
            least(
                purchase_counts_until, {{ add_days('behaviour_date', window) }}
            ) as valid_to
        from engagement_days
        where purchase_counts_until is not null

        union all

        select
            one_id,
            brand_id,
            behaviour_date as valid_from,
            {{ add_days('behaviour_date', window) }} as valid_to
        from engagement_page_view_interest
    )

    {{ health_merge_spells('engagement_intervals') | indent(4) }}
{%- endmacro %}
