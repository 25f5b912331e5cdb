-- One row per consumer of the current identity map: when and where the brand group met them, the
-- identifiers that make them reachable, their memberships and consent.
with identifiers as (
    select
        one_id,
        min(one_id_created) as one_id_created,
        min(first_seen) as first_seen_date,
        max(last_seen) as last_seen_date,
        {%- for identifier_type, column in [
            ('phone', 'phones'), ('member_id', 'member_ids'), ('account_id', 'accounts'),
            ('device_id', 'devices'), ('cookie_id', 'cookies'), ('payment_token', 'payment_tokens'),
        ] %}
        count(case when identifier_type = '{{ identifier_type }}' then 1 end) as {{ column }},
        {%- endfor %}
        count(*) as identifiers
    from {{ ref('stg_identity__identity_map') }}
    group by one_id
),

touches as (
    select
        one_id,
        min(touched_date) as first_touch_date,
        max(touched_date) as last_touch_date,
        max(case when channel = 'online' then 1 else 0 end) = 1 as has_online_touch,
        max(case when channel = 'store' then 1 else 0 end) = 1 as has_store_touch,
        max(case when channel = 'media' then 1 else 0 end) = 1 as has_media_touch,
        max(case when behaviour = 'purchase' then 1 else 0 end) = 1 as has_purchased
    from {{ ref('fct_touchpoints') }}
    group by one_id
),

memberships as (
    select
        one_id,
        count(case when is_active then 1 end) as active_member_brands,
        max(case when is_active and has_marketing_consent then 1 else 0 end) = 1
            as has_marketing_consent,
        max(case when is_active and has_ad_targeting_consent then 1 else 0 end) = 1
            as has_ad_targeting_consent
    from {{ ref('dim_memberships') }}
    where one_id is not null
    group by one_id
),

homes as (
    select
        one_id,
        home_city
    from {{ ref('int_consumer_home_cities') }}
)

select
    identifiers.one_id,
    identifiers.one_id_created,
    identifiers.first_seen_date,
    identifiers.last_seen_date,
    touches.first_touch_date,
    touches.last_touch_date,
    coalesce(touches.has_online_touch, false) as has_online_touch,
    coalesce(touches.has_store_touch, false) as has_store_touch,
    coalesce(touches.has_media_touch, false) as has_media_touch,
    coalesce(touches.has_purchased, false) as has_purchased,
    identifiers.phones + identifiers.member_ids + identifiers.accounts > 0 as is_person_identified,
    identifiers.identifiers,
    identifiers.phones,
    identifiers.member_ids,
    identifiers.accounts,
    identifiers.devices,
    identifiers.cookies,
    identifiers.payment_tokens,
    coalesce(memberships.active_member_brands, 0) as active_member_brands,
    coalesce(memberships.active_member_brands, 0) > 0 as is_member,
    coalesce(memberships.has_marketing_consent, false) as has_marketing_consent,
    coalesce(memberships.has_ad_targeting_consent, false) as has_ad_targeting_consent,
    homes.home_city
from identifiers
left join touches on identifiers.one_id = touches.one_id
left join memberships on identifiers.one_id = memberships.one_id
left join homes on identifiers.one_id = homes.one_id
