-- RFM per consumer and brand as of the run date, over the purchases of the last rfm_window_days.
-- Frequency counts distinct purchase days, as the Loyalty rule does: a basket split by the platform
-- into several orders, or bought online and in store on one day, is one shopping occasion.

with purchase_days as (
    select
        one_id,
        brand_id,
        purchase_date,
        orders,
        net_amount
    from {{ ref('int_purchase_days_netted') }}
    where {{ dbt.datediff('purchase_date', run_date(), 'day') }} < {{ var('rfm_window_days') }}
),

consumers as (
    select
        one_id,
        brand_id,
        max(purchase_date) as last_purchase_date,
        {{ days_between('max(purchase_date)', run_date()) }} as recency_days,
        count(*) as frequency,
        cast(sum(orders) as bigint) as orders,
        {{ stable_sum('net_amount') }} as monetary
    from purchase_days
    group by one_id, brand_id
),

-- Quintiles within the brand, the best fifth scoring 5 (for recency: the most recent). one_id only
-- makes the split reproducible.
quintiles as (
    select
        *,
        ntile(5) over (partition by brand_id order by recency_days desc, one_id asc) as r_quintile,
        ntile(5) over (partition by brand_id order by frequency, one_id) as f_quintile,
        ntile(5) over (partition by brand_id order by monetary, one_id) as m_quintile,
        avg(recency_days) over (partition by brand_id) as brand_avg_recency_days,
        avg(frequency) over (partition by brand_id) as brand_avg_frequency,
        {{ stable_avg('monetary', over='partition by brand_id') }} as brand_avg_monetary
    from consumers
),

-- Equal values score alike: a tie takes the lowest quintile it reaches, so that which of two
-- one-purchase consumers scores higher never depends on their ids.
scored as (
    select
        *,
        -- ntile gives a bigint on DuckDB and an int on Spark; the contract declares bigint.
        cast(min(r_quintile) over (partition by brand_id, recency_days) as bigint) as r_score,
        cast(min(f_quintile) over (partition by brand_id, frequency) as bigint) as f_score,
        cast(min(m_quintile) over (partition by brand_id, monetary) as bigint) as m_score,
        recency_days < brand_avg_recency_days as is_r_high,
        frequency > brand_avg_frequency as is_f_high,
        monetary > brand_avg_monetary as is_m_high
    from quintiles
)

select
    one_id,
    brand_id,
    {{ run_date() }} as as_of_date,
    last_purchase_date,
    recency_days,
    frequency,
    orders,
    monetary,
    r_score,
    f_score,
    m_score,
    {{ dbt.concat([
        'cast(r_score as ' ~ dbt.type_string() ~ ')',
        'cast(f_score as ' ~ dbt.type_string() ~ ')',
        'cast(m_score as ' ~ dbt.type_string() ~ ')',
    ]) }} as rfm_score,
    brand_avg_recency_days,
    brand_avg_frequency,
    brand_avg_monetary,
    is_r_high,
    is_f_high,
    is_m_high,
    case
        when is_r_high and is_f_high and is_m_high then 'important_value'
        when is_r_high and not is_f_high and is_m_high then 'important_development'
        when not is_r_high and is_f_high and is_m_high then 'important_retention'
        when not is_r_high and not is_f_high and is_m_high then 'important_winback'
        when is_r_high and is_f_high and not is_m_high then 'general_value'
        when is_r_high and not is_f_high and not is_m_high then 'general_development'
        when not is_r_high and is_f_high and not is_m_high then 'general_retention'
        else 'general_winback'
    end as rfm_class
from scored
