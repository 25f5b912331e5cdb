-- Every local day from 1970-01-01 through the run date. The spine starts before any day a brand's
-- records can hold (years of history included); each mart that reads it starts its own days at its
-- data's first day (the first state spell, the first sale), so the early days cost a few thousand
-- rows and never a day without data.
select cast(date_day as date) as calendar_date
from ({{ dbt.date_spine(
    'day',
    "cast('1970-01-01' as date)",
    add_days(run_date(), 1),
) }}) as spine
