-- Every local day from the configured calendar start through the run date.
select cast(date_day as date) as calendar_date
from ({{ dbt.date_spine(
    'day',
    "cast('" ~ var('calendar_start_date') ~ "' as date)",
    dbt.dateadd('day', 1, run_date()),
) }}) as spine
