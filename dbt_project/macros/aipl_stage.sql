{#- The AIPL stage a behaviour counts toward (docs/aipl.md's table), or null. Page views count toward A;
    on enough distinct days they make I, which the state rules count separately. -#}
{% macro aipl_stage(behaviour) -%}
    case
        when {{ behaviour }} in ('impression', 'video_view', 'live_view', 'page_view', 'search_category')
            then 'A'
        when {{ behaviour }} = 'click' then '{{ "I" if var("aipl_click_is_interest") else "A" }}'
        when {{ behaviour }} in (
            'interactive', 'search_brand', 'favorite', 'add_to_cart', 'follow_store', 'coupon_claim',
            'sample_received', 'store_visit'
        ) then 'I'
        when {{ behaviour }} = 'purchase' then 'P'
        when {{ behaviour }} = 'review_positive' then 'L'
    end
{%- endmacro %}
