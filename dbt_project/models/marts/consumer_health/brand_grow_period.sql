-- GROW per brand and calendar period (var grow_period) through the run date's period, each against
-- the period before. A table rebuilt each night: every period is restated with the refunds known
-- tonight, and it reads only order lines, few next to the behaviour feeds.
-- GMV = buyers x purchase frequency x price per purchase, over purchases by identified consumers
-- (a buyer is a one_id; lines no consumer was resolved for are reported apart as unresolved_gmv). A
-- purchase is one order or receipt with a line of the brand. The change in GMV splits by log-mean
-- Divisia weights, w = L(gmv, previous gmv): each effect is w x ln(factor / previous factor), and
-- as ln of the three ratios adds up to ln of the GMV ratio, the effects add up to delta_gmv.
{%- set period = var('grow_period') %}
{%- if period not in ['month', 'week'] %}
    {{ exceptions.raise_compiler_error("var grow_period must be month or week, not " ~ period) }}
{%- endif %}

with products as (
    select
        sku,
        brand_id,
        category,
        launched_on,
        min(launched_on) over (partition by brand_id, category) as category_launched_on
    from {{ ref('stg_reference__products') }}
),

purchase_lines as (
    select
        lines.one_id,
        lines.brand_id,
        {{ dbt.concat(['lines.source_feed', "':'", 'lines.order_id']) }} as purchase_key,
        cast({{ dbt.date_trunc(period, 'lines.order_date') }} as date) as period_start,
        cast({{ dbt.date_trunc(period, 'products.launched_on') }} as date) as product_launch_period,
        cast({{ dbt.date_trunc(period, 'products.category_launched_on') }} as date)
            as category_launch_period,
        {{ health_amount_on('lines', run_date()) }} as amount
    from {{ ref('fct_order_lines') }} as lines
    left join products
        on lines.sku = products.sku
    where
        {{ health_is_purchase_on('lines', run_date()) }}
        and lines.order_date <= {{ run_date() }}
        and lines.brand_id is not null
),

period_sales as (
    select
        brand_id,
        period_start,
        {{ stable_sum('case when one_id is not null then amount else 0 end') }} as gmv,
        count(distinct one_id) as buyers,
        count(distinct case when one_id is not null then purchase_key end) as purchases,
        {{ stable_sum("case
            when one_id is not null and product_launch_period = period_start then amount else 0
        end") }} as new_product_gmv,
        {{ stable_sum("case
            when one_id is not null and category_launch_period = period_start then amount else 0
        end") }} as new_category_gmv,
        {{ stable_sum('case when one_id is null then amount else 0 end') }} as unresolved_gmv
    from purchase_lines
    group by brand_id, period_start
),

-- Every calendar period from the brand's first sale on, so that "previous" is the calendar period
-- before, sales or not.
periods as (
    select distinct cast({{ dbt.date_trunc(period, 'calendar_date') }} as date) as period_start
    from {{ ref('int_calendar_days') }}
    where calendar_date <= {{ run_date() }}
    union
    select period_start from period_sales
),

brand_periods as (
    select
        firsts.brand_id,
        periods.period_start,
        cast({{ dbt.dateadd(period, -1, 'periods.period_start') }} as date) as previous_period_start
    from (
        select
            brand_id,
            min(period_start) as first_period_start
        from period_sales
        group by brand_id
    ) as firsts
    inner join periods
        on periods.period_start >= firsts.first_period_start
),

compared as (
    select
        brand_periods.brand_id,
        brand_periods.period_start,
        brand_periods.previous_period_start,
        {%- set sales = ['gmv', 'buyers', 'purchases'] %}
        {{ zero_if_missing('current_sales', sales) | indent(8) }},
        {{ zero_if_missing('previous_sales', sales, prefix='previous_') | indent(8) }},
        {{ zero_if_missing('current_sales', [
            'new_product_gmv', 'new_category_gmv', 'unresolved_gmv',
        ]) | indent(8) }}
    from brand_periods
    left join period_sales as current_sales
        on brand_periods.brand_id = current_sales.brand_id
        and brand_periods.period_start = current_sales.period_start
    left join period_sales as previous_sales
        on brand_periods.brand_id = previous_sales.brand_id
        and brand_periods.previous_period_start = previous_sales.period_start
),

factored as (
    select
        *,
        case when buyers > 0 then cast(purchases as double) / buyers end as purchase_frequency,
        case when purchases > 0 then gmv / purchases end as price_per_purchase,
        case
            when previous_buyers > 0 then cast(previous_purchases as double) / previous_buyers
        end as previous_purchase_frequency,
        case when previous_purchases > 0 then previous_gmv / previous_purchases end
            as previous_price_per_purchase,
        -- ln of a ratio needs both sides positive; positive GMV implies a buyer and a purchase.
        case
            when gmv > 0 and previous_gmv > 0 then null
            when previous_gmv > 0 then 'no_current_gmv'
            when gmv > 0 then 'no_previous_gmv'
            else 'no_gmv'
        end as decomposition_note
    from compared
),

weighted as (
    select
        *,
        case when decomposition_note is null then {{ health_log_mean('gmv', 'previous_gmv') }} end
            as lmdi_weight
    from factored
)

select
    brand_id,
    '{{ period }}' as period_grain,
    period_start,
    {{ add_days(dbt.dateadd(period, 1, 'period_start'), -1) }} as period_end,
    {{ add_days(dbt.dateadd(period, 1, 'period_start'), -1) }} <= {{ run_date() }}
        as is_period_complete,
    previous_period_start,
    gmv,
    buyers,
    purchases,
    purchase_frequency,
    price_per_purchase,
    previous_gmv,
    previous_buyers,
    previous_purchases,
    previous_purchase_frequency,
    previous_price_per_purchase,
    gmv - previous_gmv as delta_gmv,
    lmdi_weight,
    case
        when decomposition_note is null
            then lmdi_weight * ln(cast(buyers as double) / previous_buyers)
    end as buyers_effect,
    case
        when decomposition_note is null
            then lmdi_weight * ln(purchase_frequency / previous_purchase_frequency)
    end as frequency_effect,
    case
        when decomposition_note is null
            then lmdi_weight * ln(price_per_purchase / previous_price_per_purchase)
    end as price_effect,
    decomposition_note,
    new_product_gmv,
    new_category_gmv,
    unresolved_gmv
from weighted
