-- Every cell of the run date's aipl_flow holds exactly the consumers aipl_flow_consumers lists in it,
-- so an audience of a flow cell has the size the matrix shows.
with listed as (
    select
        brand_id,
        d1,
        lag_days,
        state_d0,
        state_d1,
        count(*) as consumers
    from {{ ref('aipl_flow_consumers') }}
    group by brand_id, d1, lag_days, state_d0, state_d1
),

counted as (
    select
        brand_id,
        d1,
        lag_days,
        state_d0,
        state_d1,
        consumers
    from {{ ref('aipl_flow') }}
    where d1 = {{ run_date() }}
)

select
    coalesce(listed.brand_id, counted.brand_id) as brand_id,
    listed.consumers as consumers_listed,
    counted.consumers as consumers_counted
from listed
full outer join counted
    on listed.brand_id = counted.brand_id
    and listed.d1 = counted.d1
    and listed.lag_days = counted.lag_days
    and listed.state_d0 = counted.state_d0
    and listed.state_d1 = counted.state_d1
where listed.consumers is null or counted.consumers is null or listed.consumers != counted.consumers
