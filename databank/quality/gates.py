"""The quality gates of a night: after ingest (bronze), after standardise (silver), before publish (gold).

Each gate validates its batch with Great Expectations, writes every expectation's outcome to the
results table (`databank.quality.results`), logs the warnings, and raises `QualityGateError`
naming the critical expectations that failed, so the night stops before anything is published.

    check_bronze(settings, "online_orders", day)   # after ingest of a feed
    check_silver(settings, "online_orders", day)   # after standardise of a feed
    check_gold(settings, build_file, day)          # on the build file, before it is published
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import duckdb

from databank.config import Settings
from databank.contracts import load_contract
from databank.quality.batches import delta_day, latest_ingest_run, rows_per_day
from databank.quality.checks import CRITICAL, qualified
from databank.quality.freshness import freshness_batches
from databank.quality.gold import gold_batches
from databank.quality.results import SuiteOutcomes, replace_results
from databank.quality.runner import run_checkpoint
from databank.quality.suites import baseline_days, bronze_suite, silver_suite, volume_band

log = logging.getLogger(__name__)

Stage = Literal["bronze", "silver", "gold"]
GOLD_SUITES = "gold"  # the gold gate runs every `gold.*` suite


@dataclass(frozen=True)
class GateReport:
    """What a gate checked and what failed (`<suite>:<expectation>` names); JSON-ready via asdict."""

    stage: Stage
    suite: str
    day: str  # the business day, ISO
    run_id: str
    checked: int  # expectations evaluated
    failed_critical: list[str]
    failed_warning: list[str]
    seconds: float


class QualityGateError(RuntimeError):
    """A critical expectation failed: the night must not go on to publish. Running it again does not
    help; fix the data (or the code) and re-run the day."""

    def __init__(self, report: GateReport, observed: dict[str, str]) -> None:
        self.report = report
        self.observed = observed  # observed value of each failed critical expectation
        failed = "; ".join(f"{name} (observed: {observed[name]})" for name in report.failed_critical)
        super().__init__(f"{report.stage} quality gate failed for {report.day}: {failed}")


def check_bronze(settings: Settings, feed: str, day: date) -> GateReport:
    """Validate the day's rows of `bronze.<feed>` against the suite its contract yields."""
    return _check_feed(settings, "bronze", feed, day)


def check_silver(settings: Settings, feed: str, day: date) -> GateReport:
    """Validate the day's rows of `silver.<feed>` against the suite its contract yields."""
    return _check_feed(settings, "silver", feed, day)


def check_gold(settings: Settings, warehouse: Path, day: date) -> GateReport:
    """Validate the marts of `warehouse` (the build file, before it is published) for `day`, and the
    freshness of the silver sources they were built from."""
    started = time.perf_counter()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        batches = [*gold_batches(con, day, settings), *freshness_batches(con, day, settings)]
    checked = [
        SuiteOutcomes(b.suite.name, b.asset, run_checkpoint(b.suite, b.frame, b.asset, b.index_columns))
        for b in batches
    ]
    return _conclude(settings, "gold", GOLD_SUITES, day, checked, started)


def _check_feed(settings: Settings, stage: Stage, feed: str, day: date) -> GateReport:
    started = time.perf_counter()
    contract = load_contract(feed)
    table = settings.lakehouse / stage / feed
    volume = volume_band(day, rows_per_day(table, baseline_days(day, settings.quality)), settings.quality)
    if stage == "bronze":
        run = latest_ingest_run(settings.lakehouse / "ops" / "ingest_runs", feed, day)
        kept = None if run is None else run["rows_bronze"] + run["rows_quarantined"]
        suite = bronze_suite(contract, volume, settings, kept)
    else:
        suite = silver_suite(contract, day, volume, settings)
    outcomes = run_checkpoint(suite, delta_day(table, day), feed)
    return _conclude(settings, stage, suite.name, day, [SuiteOutcomes(suite.name, feed, outcomes)], started)


def _conclude(
    settings: Settings, stage: Stage, suite: str, day: date, checked: list[SuiteOutcomes], started: float
) -> GateReport:
    """Record the outcomes, then pass the gate or stop the night."""
    checked_at = datetime.now(UTC)
    run_id = f"{stage}-{checked_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    replace_results(
        settings, run_id=run_id, run_date=day, stage=stage, checked=checked, checked_at=checked_at
    )
    failed = {qualified(s.suite, o.expectation): o for s in checked for o in s.outcomes if not o.success}
    report = GateReport(
        stage=stage,
        suite=suite,
        day=day.isoformat(),
        run_id=run_id,
        checked=sum(len(s.outcomes) for s in checked),
        failed_critical=sorted(name for name, o in failed.items() if o.severity == CRITICAL),
        failed_warning=sorted(name for name, o in failed.items() if o.severity != CRITICAL),
        seconds=round(time.perf_counter() - started, 3),
    )
    for name in report.failed_warning:
        log.warning("quality warning on %s: %s (observed: %s)", day, name, failed[name].observed_value)
    log.info(
        "%s gate %s for %s: %d checked, %d critical and %d warning failures (%.2f s)",
        stage,
        suite,
        day,
        report.checked,
        len(report.failed_critical),
        len(report.failed_warning),
        report.seconds,
    )
    if report.failed_critical:
        raise QualityGateError(report, {name: failed[name].observed_value for name in report.failed_critical})
    return report
