{#- Each consumer's AIPL evidence per brand and local day, from the touchpoints `where` selects:
    which stage's behaviours happened (named, for the spell they open) and until when that day's
    purchases count, net of full refunds (a purchase stops counting the day refunds cover it). -#}
{% macro aipl_daily_behaviours(where="1 = 1") -%}
    select
        touches.one_id,
        touches.brand_id,
        touches.touched_date as behaviour_date,
        max(case when {{ aipl_stage('touches.behaviour') }} = 'A' then touches.behaviour end)
            as awareness_behaviour,
        max(case when {{ aipl_stage('touches.behaviour') }} = 'I' then touches.behaviour end)
            as interest_behaviour,
        max(case when touches.behaviour = 'page_view' then 1 else 0 end) = 1 as has_page_view,
        max(case
            when touches.behaviour = 'purchase'
                then coalesce(lines.fully_refunded_date, cast('9999-12-31' as date))
        end) as purchase_counts_until,
        max(case when touches.behaviour = 'review_positive' then 1 else 0 end) = 1 as has_positive_review
    from {{ ref('fct_touchpoints') }} as touches
    left join {{ ref('fct_order_lines') }} as lines
        on touches.behaviour = 'purchase'
        and touches.source_feed = lines.source_feed
        and touches.source_record_id = lines.order_line_id
    where {{ aipl_stage('touches.behaviour') }} is not null and ({{ where }})
    group by touches.one_id, touches.brand_id, touches.touched_date
{%- endmacro %}
