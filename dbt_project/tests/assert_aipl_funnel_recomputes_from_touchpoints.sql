-- The run date's funnel, recomputed per consumer straight from the touchpoints (refunds netted
-- through their related purchase) and the current memberships, without the state history, must
-- equal aipl_daily_funnel for that day, brand by brand and state by state.

with touches as (
    select
        one_id,
        brand_id,
        behaviour,
        touched_date,
        source_feed,
        source_record_id,
        related_record_id,
        amount,
        {{ dbt.datediff('touched_date', run_date(), 'day') }} as age_days
    from {{ ref('fct_touchpoints') }}
    where touched_date <= {{ run_date() }}
),

refunded_purchases as (
    select
        purchases.source_feed,
        purchases.source_record_id
    from touches as purchases
    inner join touches as refunds
        on refunds.behaviour = 'refund'
        and refunds.source_feed = purchases.source_feed
        and refunds.related_record_id = purchases.source_record_id
    where purchases.behaviour = 'purchase'
    group by purchases.source_feed, purchases.source_record_id, purchases.amount
    having sum(refunds.amount) >= purchases.amount - 0.01
),

counting as (
    select
        touches.*,
        touches.behaviour = 'purchase' and refunded_purchases.source_record_id is null as is_net_purchase
    from touches
    left join refunded_purchases
        on touches.source_feed = refunded_purchases.source_feed
        and touches.source_record_id = refunded_purchases.source_record_id
),

consumers as (
    select
        one_id,
        brand_id,
        count(distinct case
            when is_net_purchase and age_days < {{ var('aipl_loyalty_window_days') }} then touched_date
        end) as purchase_days_365,
        sum(case
            when behaviour = 'review_positive' and age_days < {{ var('aipl_loyalty_window_days') }} then 1
            else 0
        end) as positive_reviews_365,
        sum(case
            when is_net_purchase and age_days < {{ var('aipl_purchase_window_days') }} then 1 else 0
        end) as purchases_730,
        sum(case
            when
                age_days < {{ var('aipl_interest_window_days') }}
                and (
                    behaviour in (
                        'interactive', 'search_brand', 'favorite', 'add_to_cart', 'follow_store',
                        'coupon_claim', 'sample_received', 'store_visit'
                    )
                    {%- if var('aipl_click_is_interest') %} or behaviour = 'click'{% endif %}
                )
                then 1
            else 0
        end) as interest_touches,
        count(distinct case
            when behaviour = 'page_view' and age_days < {{ var('aipl_interest_window_days') }}
                then touched_date
        end) as page_view_days,
        sum(case
            when
                age_days < {{ var('aipl_awareness_window_days') }}
                and (
                    behaviour in ('impression', 'video_view', 'live_view', 'page_view', 'search_category')
                    {%- if not var('aipl_click_is_interest') %} or behaviour = 'click'{% endif %}
                )
                then 1
            else 0
        end) as awareness_touches
    from counting
    group by one_id, brand_id
),

members as (
    select distinct
        one_id,
        brand_id
    from {{ ref('dim_memberships') }}
    where is_active
),

states as (
    select
        coalesce(consumers.brand_id, members.brand_id) as brand_id,
        case
            when consumers.purchase_days_365 >= {{ var('aipl_purchase_days_for_loyalty') }}
                or consumers.positive_reviews_365 > 0 then 'L'
            when consumers.purchases_730 > 0 then 'P'
            when members.one_id is not null
                or consumers.interest_touches > 0
                or consumers.page_view_days >= {{ var('aipl_page_view_days_for_interest') }} then 'I'
            when consumers.awareness_touches > 0 then 'A'
        end as state
    from consumers
    full outer join members
        on consumers.one_id = members.one_id
        and consumers.brand_id = members.brand_id
),

recomputed as (
    select
        brand_id,
        sum(case when state = 'A' then 1 else 0 end) as consumers_a,
        sum(case when state = 'I' then 1 else 0 end) as consumers_i,
        sum(case when state = 'P' then 1 else 0 end) as consumers_p,
        sum(case when state = 'L' then 1 else 0 end) as consumers_l
    from states
    group by brand_id
),

published as (
    select * from {{ ref('aipl_daily_funnel') }}
    where funnel_date = {{ run_date() }}
)

select
    coalesce(published.brand_id, recomputed.brand_id) as brand_id,
    published.consumers_a as published_a,
    recomputed.consumers_a as recomputed_a,
    published.consumers_i as published_i,
    recomputed.consumers_i as recomputed_i,
    published.consumers_p as published_p,
    recomputed.consumers_p as recomputed_p,
    published.consumers_l as published_l,
    recomputed.consumers_l as recomputed_l
from published
full outer join recomputed
    on published.brand_id = recomputed.brand_id
where coalesce(published.consumers_a, 0) != coalesce(recomputed.consumers_a, 0)
    or coalesce(published.consumers_i, 0) != coalesce(recomputed.consumers_i, 0)
    or coalesce(published.consumers_p, 0) != coalesce(recomputed.consumers_p, 0)
    or coalesce(published.consumers_l, 0) != coalesce(recomputed.consumers_l, 0)
