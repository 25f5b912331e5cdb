-- Lifecycle stage per consumer and brand as of the run date, from every purchase day so far.
-- Stages are tested in this order and the first that holds wins: new, reactivated, active, at_risk,
-- dormant, churned (new and reactivated consumers are also active; new ones cannot be reactivated).

with purchase_days as (
    select
        one_id,
        brand_id,
        purchase_date,
        lag(purchase_date) over (
            partition by one_id, brand_id order by purchase_date
        ) as previous_purchase_date
    from {{ ref('int_purchase_days_netted') }}
),

-- A comeback: a purchase whose day before found the consumer dormant or churned, i.e. more than
-- lifecycle_at_risk_days after the purchase before it.
flagged as (
    select
        *,
        coalesce(
            {{ dbt.datediff('previous_purchase_date', 'purchase_date', 'day') }} - 1
            > {{ var('lifecycle_at_risk_days') }},
            false
        ) as is_comeback
    from purchase_days
),

consumers as (
    select
        one_id,
        brand_id,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        count(*) as purchase_days,
        max(case when is_comeback then purchase_date end) as last_comeback_date
    from flagged
    group by one_id, brand_id
),

measured as (
    select
        *,
        {{ days_between('first_purchase_date', run_date()) }} as days_since_first_purchase,
        {{ days_between('last_purchase_date', run_date()) }} as days_since_last_purchase,
        {{ days_between('last_comeback_date', run_date()) }} as days_since_comeback
    from consumers
)

select
    one_id,
    brand_id,
    {{ run_date() }} as as_of_date,
    first_purchase_date,
    last_purchase_date,
    purchase_days,
    last_comeback_date,
    days_since_first_purchase,
    days_since_last_purchase,
    case
        when days_since_first_purchase <= {{ var('lifecycle_new_days') }} then 'new'
        when days_since_comeback <= {{ var('lifecycle_active_days') }} then 'reactivated'
        when days_since_last_purchase <= {{ var('lifecycle_active_days') }} then 'active'
        when days_since_last_purchase <= {{ var('lifecycle_at_risk_days') }} then 'at_risk'
        when days_since_last_purchase <= {{ var('lifecycle_dormant_days') }} then 'dormant'
        else 'churned'
    end as lifecycle_stage
from measured
