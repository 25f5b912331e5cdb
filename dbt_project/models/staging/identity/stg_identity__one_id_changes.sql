-- Consumer ids merged into another or split off, night by night, up to the run date.
select
    old_one_id,
    new_one_id,
    cause,
    day as changed_date
from ({{ arrived_by_run_date(source('identity', 'one_id_history'), 'day') }}) as changes
