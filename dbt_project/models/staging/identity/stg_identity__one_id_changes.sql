-- Consumer ids merged into another or split off, night by night, up to the run date.
select
    old_one_id,
    new_one_id,
    cause,
    day as changed_date
from {{ source('identity', 'one_id_history') }}
where day <= {{ run_date() }}
