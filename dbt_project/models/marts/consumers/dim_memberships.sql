-- Every membership of every brand as the CRM last described it on or before the run date.
with latest as (
    select
        changes.*,
        row_number() over (
            partition by changes.member_id_hmac, changes.brand_id
            order by changes.updated_at desc, changes.member_record_id desc
        ) as change_from_last
    from {{ ref('stg_crm__member_changes') }} as changes
)

select
    {{ dbt.concat(['latest.brand_id', "':'", 'latest.member_id_hmac']) }} as membership_id,
    map.one_id,
    latest.brand_id,
    latest.member_id_hmac,
    latest.joined_on,
    latest.status,
    latest.is_active,
    latest.has_marketing_consent,
    latest.has_ad_targeting_consent,
    latest.updated_date as last_changed_date
from latest
left join {{ ref('stg_identity__identity_map') }} as map
    on map.identifier_key = {{ dbt.concat(["'member_id:'", 'latest.member_id_hmac']) }}
where latest.change_from_last = 1
