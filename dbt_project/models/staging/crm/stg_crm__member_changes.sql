-- CRM membership records that had arrived by the run date.
select
    member_record_id,
    member_id_hmac,
    brand_id,
    joined_on,
    status,
    status = 'active' as is_active,
    coalesce(consent_marketing, false) as has_marketing_consent,
    coalesce(consent_ad_targeting, false) as has_ad_targeting_consent,
    updated_at,
    updated_date,
    dt as loaded_date
from ({{ arrived_by_run_date(source('crm', 'members')) }}) as members
