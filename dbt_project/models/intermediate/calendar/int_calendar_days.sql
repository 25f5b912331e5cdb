-- Every local day from the configured calendar start through the run date.
select cast(date_day as date) as calendar_date
from ({{ dbt.date_spine(
    'day',
    "cast('" ~ var('calendar_start_date') ~ "' as date)",
    add_days(run_date(), 1),
) }}) as spine
