"""Data quality gates: Great Expectations suites as code, run at every layer boundary of a night.

- `suites`: bronze and silver suites derived from the feed contracts in `schemas/`.
- `gold`: the business rules of the marts (AIPL identities, rates, continuity, freshness).
- `checks`: names and severities (critical stops the night, warning is recorded).
- `runner`: one Great Expectations checkpoint over one pandas batch.
- `results`: the Delta table of every expectation's result, day by day.
- `gates`: `check_bronze`, `check_silver`, `check_gold`, what the nightly run calls.
- `docs`: the static quality report under `<reports>/quality/`.
"""

import os

# Great Expectations would otherwise phone home from every task of every night.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
