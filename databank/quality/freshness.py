"""Source freshness in the gold gate: how old each silver source's newest rows are at the end of the night.

dbt declares it: a source's `freshness` (`warn_after`, `error_after`) and `loaded_at_field` in the dbt
project's `_<area>__sources.yml`, read here from the manifest the night's build wrote. The age is counted
to the end of the run date, not to the wall clock, as the project's `collect_freshness` macro counts it
for `dbt source freshness`, so a backfill or a re-run is judged as its night would have been, and both
give the same verdict. A feed whose newest rows are from the run date is one day old.

Suite `gold.sources`, one batch of one row: a column per checked table holding its age in days (null
when it has no rows). Per table of a feed the brand has (`[pipeline] required_feeds` and
`optional_feeds`; a feed it does not have is empty by design) and with a declared freshness:

- `delivered(<table>)`, warning: the table holds rows;
- `fresh(<table>)`, warning: its age is within `warn_after`;
- `not_stale(<table>)`, critical: its age is within `error_after`, else the night is not published.

Without a manifest (a build that ran no dbt) there is nothing declared and the suite checks nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from databank.config import Settings
from databank.dbt_project import dbt_work_dir
from databank.quality.checks import CRITICAL, WARNING, Severity, build_suite, check
from databank.quality.gold import SILVER, GoldBatch

SUITE = "gold.sources"
PERIOD_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1.0}


@dataclass(frozen=True)
class DeclaredFreshness:
    """One silver source table's freshness as dbt declares it; thresholds in days, None when unset."""

    table: str
    loaded_at_field: str
    warn_after_days: float | None
    error_after_days: float | None


def declared_freshness(manifest: Path) -> list[DeclaredFreshness]:
    """The silver sources of the dbt manifest that declare a freshness threshold, by table name."""
    if not manifest.is_file():
        return []
    declared = []
    for source in json.loads(manifest.read_text())["sources"].values():
        thresholds = source.get("freshness") or {}
        warn, error = (_days(thresholds.get(key)) for key in ("warn_after", "error_after"))
        if source["schema"] == SILVER and source.get("loaded_at_field") and (warn or error):
            declared.append(DeclaredFreshness(source["identifier"], source["loaded_at_field"], warn, error))
    return sorted(declared, key=lambda d: d.table)


def freshness_batches(con: duckdb.DuckDBPyConnection, run_date: date, settings: Settings) -> list[GoldBatch]:
    """The gold.sources suite and the ages of the brand's silver sources, read from the build file;
    none when no source of a feed the brand has declares a freshness."""
    manifest = dbt_work_dir(settings.reports) / "target" / "manifest.json"
    declared = [d for d in declared_freshness(manifest) if d.table in settings.pipeline.feeds]
    if not declared:
        return []
    night_ends = datetime.combine(run_date + timedelta(days=1), datetime.min.time())
    ages = {d.table: _age_days(con, d, night_ends) for d in declared}
    frame = pd.DataFrame({table: pd.Series([age], dtype="float64") for table, age in ages.items()})
    return [GoldBatch(freshness_suite(declared, ages, settings), SILVER, frame)]


def freshness_suite(
    declared: list[DeclaredFreshness], ages: dict[str, float | None], settings: Settings
) -> gx.ExpectationSuite:
    """Per declared table: delivered; when it has rows, fresh (warn_after) and not stale (error_after)."""
    expectations = []
    for d in declared:
        expectations.append(
            check(f"delivered({d.table})", gxe.ExpectColumnValuesToNotBeNull, WARNING, column=d.table)
        )
        if ages.get(d.table) is None:
            continue  # no rows yet: an age says nothing more than delivered() does
        if d.warn_after_days:
            expectations.append(_age_within(f"fresh({d.table})", d.table, d.warn_after_days, WARNING))
        if d.error_after_days:
            expectations.append(_age_within(f"not_stale({d.table})", d.table, d.error_after_days, CRITICAL))
    return build_suite(SUITE, expectations, settings.quality.severity)


def _age_within(name: str, table: str, days: float, severity: Severity):
    return check(name, gxe.ExpectColumnMaxToBeBetween, severity, column=table, max_value=days)


def _days(threshold: dict | None) -> float | None:
    if not threshold or threshold.get("count") is None:
        return None
    return threshold["count"] * PERIOD_DAYS[threshold["period"]]


def _age_days(
    con: duckdb.DuckDBPyConnection, declared: DeclaredFreshness, night_ends: datetime
) -> float | None:
    """Days from the table's newest `loaded_at_field` to the end of the run date; None without rows."""
    try:
        [(newest,)] = con.execute(
            f"SELECT max({declared.loaded_at_field}) FROM {SILVER}.{declared.table}"
        ).fetchall()
    except duckdb.CatalogException:  # not in silver yet: no delivery has had rows
        return None
    if newest is None:
        return None
    newest = newest if isinstance(newest, datetime) else datetime.combine(newest, datetime.min.time())
    return (night_ends - newest.replace(tzinfo=None)) / timedelta(days=1)
