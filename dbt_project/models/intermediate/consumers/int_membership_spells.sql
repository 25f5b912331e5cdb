-- Each membership's status over time, from the CRM's change records: a status holds from the local
-- day of its change until the next change (the last change of a day is that day's status).
with changes as (
    select
        member_id_hmac,
        brand_id,
        status,
        is_active,
        updated_date,
        row_number() over (
            partition by member_id_hmac, brand_id, updated_date
            order by updated_at desc, member_record_id desc
        ) as change_of_day_from_last
    from {{ ref('stg_crm__member_changes') }}
),

daily as (
    select
        member_id_hmac,
        brand_id,
        status,
        is_active,
        updated_date as valid_from,
        lead(updated_date) over (
            partition by member_id_hmac, brand_id order by updated_date
        ) as valid_to
    from changes
    where change_of_day_from_last = 1
)

select
    map.one_id,
    daily.brand_id,
    daily.member_id_hmac,
    daily.status,
    daily.is_active,
    daily.valid_from,
    daily.valid_to
from daily
inner join {{ ref('stg_identity__identity_map') }} as map
    on map.identifier_key = {{ dbt.concat(["'member_id:'", 'daily.member_id_hmac']) }}
