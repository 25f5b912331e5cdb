-- Every cell of the run date's aipl_flow holds exactly the consumers aipl_flow_consumers lists in it,
-- so an audience of a flow cell has the size the matrix shows. Rows: the cells where the two differ.
{%- set cell = ['brand_id', 'd1', 'lag_days', 'state_d0', 'state_d1'] %}

with listed as (
    select
        {{ column_list(cell) | indent(8) }},
        count(*) as consumers
    from {{ ref('aipl_flow_consumers') }}
    group by {{ cell | join(', ') }}
),

counted as (
    select
        {{ column_list(cell) | indent(8) }},
        consumers
    from {{ ref('aipl_flow') }}
    where d1 = {{ run_date() }}
),

only_listed as (
    select * from listed
    except
    select * from counted
),

only_counted as (
    select * from counted
    except
    select * from listed
)

select
    'listed' as side,
    {{ column_list(cell + ['consumers']) | indent(4) }}
from only_listed
union all
select
    'counted' as side,
    {{ column_list(cell + ['consumers']) | indent(4) }}
from only_counted
