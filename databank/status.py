"""What the nightly runs did and how fresh the data is, in one place (`databank status`).

Pure reading, nothing printed, nothing written: the nights from Airflow's metadata
(`databank.recorded_runs`), each night's quality verdict from the expectation results, the published
warehouse's run date, each gold table's Delta version and last write, files that landed for a day
after it ran, and erasure requests not applied yet. A failed night carries the one command that runs
it again, with the nights after it, in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from deltalake import DeltaTable

from databank.config import Settings
from databank.pipeline import DAG_ID, airflow_home, landing_folder
from databank.privacy.erasure import pending_feed_requests
from databank.quality.results import read_results
from databank.recorded_runs import RunRecord, TaskRecord, read_runs, run_states
from databank.warehouse import NoWarehouseError, open_published

DEFAULT_DAYS = 7
SLOWEST_SHOWN = 3
FEED_STEPS = ("wait_for_landing", "ingest", "check_bronze", "standardise", "check_silver")
INGESTED_FILES = "ingested_files"  # spark_jobs.ingest_feed.FILES_TABLE, whose module imports Spark


@dataclass(frozen=True)
class TaskTime:
    task_id: str
    seconds: float


@dataclass(frozen=True)
class FailedTask:
    task_id: str
    reason: str | None  # None: the task failed before the DAG kept reasons


@dataclass(frozen=True)
class FeedRows:
    """A feed's night: where it stopped (`success` when it went through) and its rows at each layer."""

    feed: str
    state: str  # success | not delivered | the state of the first step that did not succeed
    rows_delivered: int | None
    rows_bronze: int | None
    rows_quarantined: int | None
    rows_suppressed: int | None
    rows_silver: int | None


@dataclass(frozen=True)
class Identity:
    consumers: int
    merges: int
    splits: int


@dataclass(frozen=True)
class QualityVerdict:
    verdict: str  # passed | warnings | failed | not checked
    checked: int
    critical_failures: tuple[str, ...]  # suite:expectation
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Night:
    day: date
    state: str  # Airflow's: success | failed | running (a killed `databank run` leaves it so)
    started_at: datetime | None
    ended_at: datetime | None
    seconds: float | None
    slowest_tasks: tuple[TaskTime, ...]
    failed_tasks: tuple[FailedTask, ...]
    feeds: tuple[FeedRows, ...]
    identity: Identity | None
    erasure_requests_applied: int | None
    marts_published: int | None
    upkeep: dict[str, Any] | None  # what housekeeping did after the night (databank.housekeeping)
    quality: QualityVerdict
    rerun: str | None  # the command that runs a failed night again, with the nights after it


@dataclass(frozen=True)
class GoldTable:
    name: str
    version: int
    written_at: datetime


@dataclass(frozen=True)
class LateFile:
    feed: str
    day: date
    file: str


@dataclass(frozen=True)
class PendingErasure:
    request_id: str
    requested_at: datetime | None


@dataclass(frozen=True)
class Status:
    nights: tuple[Night, ...]  # earliest first
    warehouse_run_date: date | None
    gold_tables: tuple[GoldTable, ...]
    late_files: tuple[LateFile, ...]
    late_files_rerun: str | None  # the command that ingests them: their earliest day and the days after
    pending_erasures: tuple[PendingErasure, ...]


def read_status(settings: Settings, days: int = DEFAULT_DAYS) -> Status:
    """The last `days` business days that have a run, and the state of the data now."""
    airflow_db = airflow_home(settings) / "airflow.db"
    runs = read_runs(airflow_db, DAG_ID, settings.tz, last=days)
    states = run_states(airflow_db, DAG_ID, settings.tz)
    last_day = max(states, default=None)
    quality = quality_by_day(settings, runs[0].day) if runs else {}
    late = late_files(settings, [day for day, state in states.items() if state == "success"])
    return Status(
        nights=tuple(night(run, quality.get(run.day, ()), last_day) for run in runs),
        warehouse_run_date=warehouse_run_date(settings.warehouse),
        gold_tables=gold_tables(settings.lakehouse / "gold"),
        late_files=late,
        late_files_rerun=rerun_command(min(f.day for f in late), last_day) if late else None,
        pending_erasures=pending_erasures(settings),
    )


def night(run: RunRecord, quality_results: Sequence[dict[str, Any]], last_day: date | None) -> Night:
    """A run's night as status shows it; `last_day` is the latest day that has a run."""
    started = min((t.started_at for t in run.tasks if t.started_at), default=None)
    ended = run.ended_at or max((t.ended_at for t in run.tasks if t.ended_at), default=None)
    timed = sorted((t for t in run.tasks if t.seconds is not None), key=lambda t: -t.seconds)
    identity = run.returned.get("resolve_identity")
    erasure = run.returned.get("apply_erasure_requests")
    published = run.returned.get("build_and_publish_marts")
    return Night(
        day=run.day,
        state=run.state,
        started_at=started,
        ended_at=ended,
        seconds=round((ended - started).total_seconds(), 1) if started and ended else None,
        slowest_tasks=tuple(TaskTime(t.task_id, round(t.seconds, 1)) for t in timed[:SLOWEST_SHOWN]),
        failed_tasks=tuple(
            FailedTask(t.task_id, run.failures.get(t.task_id)) for t in run.tasks if t.state == "failed"
        ),
        feeds=feed_rows(run),
        identity=Identity(**{k: identity[k] for k in ("consumers", "merges", "splits")})
        if identity
        else None,
        erasure_requests_applied=erasure["requests"] if erasure else None,
        marts_published=len(published["tables"]) if published else None,
        upkeep=run.returned.get("keep_lakehouse"),
        quality=quality_verdict(quality_results),
        rerun=rerun_command(run.day, last_day) if run.state == "failed" else None,
    )


def feed_rows(run: RunRecord) -> tuple[FeedRows, ...]:
    """Each feed of the night: how far it went and the rows it delivered, kept, set aside and cleaned."""
    steps: dict[str, dict[str, TaskRecord]] = {}
    for task in run.tasks:
        feed, _, step = task.task_id.partition(".")
        if step in FEED_STEPS:
            steps.setdefault(feed, {})[step] = task
    rows = []
    for feed in sorted(steps):
        ingested = run.returned.get(f"{feed}.ingest") or {}
        standardised = run.returned.get(f"{feed}.standardise") or {}
        rows.append(
            FeedRows(
                feed,
                _feed_state(steps[feed]),
                ingested.get("rows_delivered"),
                ingested.get("rows_bronze"),
                ingested.get("rows_quarantined"),
                ingested.get("rows_suppressed"),
                standardised.get("rows_silver"),
            )
        )
    return tuple(rows)


def _feed_state(steps: dict[str, TaskRecord]) -> str:
    landed = steps.get("wait_for_landing")
    if landed and landed.state == "skipped":
        return "not delivered"
    stopped = (steps[step] for step in FEED_STEPS if step in steps and steps[step].state != "success")
    return next((task.state or "not started" for task in stopped), "success")


def rerun_command(day: date, last_day: date | None) -> str:
    """The one command that runs `day` again and then, in order, every later day that has a run."""
    if last_day is None or last_day <= day:
        return f"databank run --date {day}"
    return f"databank run --start {day} --end {last_day}"


def quality_by_day(settings: Settings, since: date) -> dict[date, list[dict[str, Any]]]:
    """The last results of every expectation checked on each day from `since`."""
    by_day: dict[date, list[dict[str, Any]]] = {}
    for result in read_results(settings, since).to_pylist():
        by_day.setdefault(result["run_date"], []).append(result)
    return by_day


def quality_verdict(results: Sequence[dict[str, Any]]) -> QualityVerdict:
    """Critical failures fail a night; failed warnings are recorded and let it through."""
    failed = [r for r in results if not r["success"]]
    critical = sorted({f"{r['suite']}:{r['expectation']}" for r in failed if r["severity"] == "critical"})
    warnings = sorted({f"{r['suite']}:{r['expectation']}" for r in failed if r["severity"] != "critical"})
    verdict = "failed" if critical else "warnings" if warnings else "passed" if results else "not checked"
    return QualityVerdict(verdict, len(results), tuple(critical), tuple(warnings))


def warehouse_run_date(warehouse: Path) -> date | None:
    """The last funnel day of the published warehouse: the night it was built for; None if none."""
    try:
        con = open_published(warehouse)
    except NoWarehouseError:
        return None
    with con:
        try:
            return con.execute("SELECT max(funnel_date) FROM marts.aipl_daily_funnel").fetchone()[0]
        except duckdb.CatalogException:  # a warehouse no night has built the funnel in
            return None


def gold_tables(gold: Path) -> tuple[GoldTable, ...]:
    """Each gold Delta table's version and the time of its last commit."""
    if not gold.is_dir():
        return ()
    tables = []
    for path in sorted(p for p in gold.iterdir() if (p / "_delta_log").is_dir()):
        table = DeltaTable(str(path))
        [last_commit] = table.history(1)
        written_at = datetime.fromtimestamp(last_commit["timestamp"] / 1000, UTC)
        tables.append(GoldTable(path.name, table.version(), written_at))
    return tuple(tables)


def late_files(settings: Settings, days_run: Iterable[date]) -> tuple[LateFile, ...]:
    """Files in a feed's landing folder of a day whose night succeeded, that no ingest registered:
    they landed after their night and wait for it to run again. (A failed night's files are picked up
    by the re-run it needs anyway.)"""
    registered = _registered_files(settings.lakehouse / "ops" / INGESTED_FILES)
    late = []
    for day in sorted(days_run):
        for feed in settings.pipeline.feeds:
            folder = landing_folder(feed, day, settings)
            if not folder.is_dir():
                continue
            late += [
                LateFile(feed, day, path.name)
                for path in sorted(folder.iterdir())
                if path.is_file()
                and not path.name.startswith(".")  # a transfer in progress
                and (feed, day, path.name) not in registered
            ]
    return tuple(late)


def _registered_files(table: Path) -> set[tuple[str, date, str]]:
    if not (table / "_delta_log").is_dir():
        return set()
    rows = DeltaTable(str(table)).to_pyarrow_table(columns=["feed", "dt", "file"]).to_pylist()
    return {(row["feed"], row["dt"], Path(row["file"]).name) for row in rows}


def pending_erasures(settings: Settings) -> tuple[PendingErasure, ...]:
    """Erasure requests delivered and standardised that no night has applied yet."""
    return tuple(
        PendingErasure(r.request_id, r.requested_at) for r in pending_feed_requests(settings, date.max)
    )
