"""The work of each task of the nightly DAG (`dags/databank_nightly.py`), as plain functions.

Every function takes the business day (and the feed, where there is one), reads the settings the way
every databank command does (`databank.toml`, `DATABANK_*`), and is idempotent: running it again for a
day replaces what it wrote for that day. Spark tasks share one SparkSession per process, built on
first use: one per task process under an Airflow executor, one for a whole `databank run`.

Importing this module is cheap (the DAG file does it at parse time): Spark, DuckDB and delta-rs are
imported inside the functions that use them. Parsing must never touch delta-rs in any case: its
runtime does not survive a fork, and Airflow forks task processes from the ones that parse.

`databank.night_runner` runs the DAG in-process for a range of days (`databank run`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from databank.config import Settings, load_settings
from databank.dbt_project import find_dbt_project
from databank.resources import dags_folder, spark_jobs_folder

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DAG_ID = "databank_nightly"
DAG_FILE = dags_folder() / f"{DAG_ID}.py"
SPARK_JOBS = spark_jobs_folder()


class NotRetryableError(RuntimeError):
    """A failure that running the task again cannot fix: bad data, a failing dbt test, a missing key.

    The DAG's retry policy fails such a task at once instead of retrying it.
    """


@cache
def settings() -> Settings:
    """The settings of this process (file and environment), read once."""
    return load_settings()


@cache
def spark() -> SparkSession:
    """The one SparkSession of this process, built on first use for the configured profile."""
    from databank.spark_session import build_session

    return build_session(settings(), f"{DAG_ID} (pid {os.getpid()})")


def business_day(data_interval_start: datetime | None, config: Settings | None = None) -> date:
    """The local business day a run covers: its data interval starts at that day's local midnight."""
    if data_interval_start is None:
        raise NotRetryableError(
            "this run has no data interval, so no business day: trigger it with a logical date "
            "(the local midnight that ends the day to run)"
        )
    return data_interval_start.astimezone((config or settings()).tz).date()


def landing_folder(feed: str, day: date, config: Settings | None = None) -> Path:
    """Where a feed's delivery for a day lands (`<landing>/<feed>/dt=<day>/`)."""
    return (config or settings()).landing / feed / f"dt={day.isoformat()}"


def has_landed(feed: str, day: date, config: Settings | None = None) -> bool:
    """Whether a feed's delivery for a day has landed: its folder holds at least one file.

    An empty file counts (ingestion registers it as delivered and empty); a folder with nothing in it
    or only hidden files (a transfer in progress) does not.
    """
    folder = landing_folder(feed, day, config)
    return folder.is_dir() and any(p.is_file() and not p.name.startswith(".") for p in folder.iterdir())


def landed_days(feed: str, config: Settings | None = None) -> Iterator[date]:
    """The days a feed has landed for, earliest first: its `dt=YYYY-MM-DD` folders that hold a file."""
    config = config or settings()
    folder = config.landing / feed
    if not folder.is_dir():
        return
    for name in sorted(p.name for p in folder.iterdir()):  # ISO dates sort as days do
        day = _folder_day(name)
        if day is not None and has_landed(feed, day, config):
            yield day


def first_business_day(config: Settings | None = None) -> date | None:
    """The first day the nightly DAG runs for: `[pipeline] start_date`, else the first day a required
    feed landed under the landing root; None while neither is known.

    Cheap enough for every parse of the DAG file: a listing of each required feed's folder.
    """
    config = config or settings()
    if config.pipeline.start_date is not None:
        return config.pipeline.start_date
    firsts = [next(landed_days(feed, config), None) for feed in config.pipeline.required_feeds]
    return min((day for day in firsts if day is not None), default=None)


def _folder_day(name: str) -> date | None:
    try:
        return date.fromisoformat(name.removeprefix("dt=")) if name.startswith("dt=") else None
    except ValueError:
        return None


def feeds_application(step: str, feeds: str, day: date) -> dict[str, str]:
    """The night's application of `step` (ingest or standardise) on the embedded profile: every feed
    of `feeds` (comma-separated) in this process's one Spark session, each feed's outcome recorded for
    its own task (`feed_outcome`), as the application submitted to the cluster does. Says what became
    of each feed; fails, to be retried, only for a failure a retry may fix."""
    from spark_jobs import ingest_feed, standardise
    from spark_jobs.each_feed import feed_list, run_night

    on_days, not_retryable = {
        "ingest": (ingest_feed.ingest_days, ingest_feed.NOT_RETRYABLE_ERRORS),
        "standardise": (standardise.standardise_days, standardise.NOT_RETRYABLE_ERRORS),
    }[step]
    outcomes = run_night(spark(), settings(), step, feed_list(feeds), day, on_days, not_retryable)
    return {outcome.feed: outcome.error or "done" for outcome in outcomes}


def feed_outcome(step: str, feed: str, day: date) -> dict[str, Any]:
    """What the step's application of the night, run for every feed, did with `feed` on `day`
    (`databank.feed_outcomes`): its figures, or its error raised as the feed's."""
    from databank.feed_outcomes import OutcomeMissingError, read_outcome

    # Reading again cannot change what the application recorded: running it again can (clear its task).
    with _not_retryable(OutcomeMissingError):
        outcome = read_outcome(settings().lakehouse, step, feed, day)
    if not outcome.succeeded:
        raise NotRetryableError(
            f"{step} of {feed} for {day} failed in the night's {step} application: {outcome.error}"
        )
    return outcome.result


def check_quality(stage: str, feed: str, day: date) -> dict[str, Any]:
    """The quality gate of a feed's bronze or silver day; a failed critical expectation stops the night."""
    from databank.quality.gates import QualityGateError, check_bronze, check_silver

    check = {"bronze": check_bronze, "silver": check_silver}[stage]
    with _not_retryable(QualityGateError):
        return dataclasses.asdict(check(settings(), feed, day))


def build_quality_report(day: date) -> str:
    """The quality report (`<reports>/quality/index.html`) with every night's checks, this one's too."""
    from databank.quality.docs import build_data_docs

    return str(build_data_docs(settings()))


def apply_erasure_requests(day: date) -> dict[str, Any]:
    """Erasure requests delivered up to `day` and not applied yet -> the people gone from every table."""
    from databank.privacy.erasure import apply_erasure, pending_feed_requests

    config = settings()
    return plain_result(apply_erasure(config, pending_feed_requests(config, day)))


def resolve(day: date) -> dict[str, Any]:
    """The day's identifier sightings -> OneID (incremental or full, as `identity.update` says)."""
    from databank.lakehouse import lakehouse_for
    from spark_jobs.resolve_identity import resolve as resolve_identity

    config = settings()
    return plain_result(resolve_identity(spark(), lakehouse_for(config), config, day))


def build_and_publish_marts(day: date) -> dict[str, Any]:
    """dbt builds the day's marts aside; they are published as the warehouse and gold Delta tables."""
    from databank.marts import MartsBuildError, build_marts

    _stop_spark()
    with _not_retryable(MartsBuildError):
        result = build_marts(settings(), day)
    return {
        "run_date": day.isoformat(),
        "seconds": round(result.seconds, 1),
        "dbt_statuses": result.dbt_statuses,
        "docs_site": result.docs_site,
        "gold_warnings": list(result.gold_warnings),
        "tables": {
            t.name: {
                "rows": t.rows,
                "gold_path": str(t.gold_path),
                "gold_version": t.gold_version,
                "partitions_written": t.partitions_written,
            }
            for t in result.tables
        },
    }


def publish_warehouse(day: date) -> dict[str, Any]:
    """The cluster profile's warehouse: the lakehouse's silver, intermediate and gold tables as views,
    checked by the night's dbt data tests and the gold gate, and swapped in (`databank.gold_warehouse`)."""
    from databank.gold_warehouse import publish_warehouse_from_gold
    from databank.marts import MartsBuildError

    with _not_retryable(MartsBuildError):
        result = publish_warehouse_from_gold(settings(), day)
    return {
        "run_date": day.isoformat(),
        "seconds": round(result.seconds, 1),
        "warehouse": str(result.warehouse),
        "gold_warnings": list(result.gold_warnings),
        "tables": result.tables,
    }


def _stop_spark() -> None:
    """Stop this process's SparkSession, if it built one, and collect its JVM's heap.

    No task after OneID uses Spark. When a night's tasks share a process (`databank run`), the idle
    JVM kept the heap it had grown to beside the marts build, whose DuckDB needs the memory (medium
    tier, day 30: 3.4 GB, 1.1 GB once stopped and collected; Java's G1 gives memory back only after
    a collection).
    """
    if not spark.cache_info().currsize:
        return
    from pyspark import SparkContext

    spark().stop()
    spark.cache_clear()
    SparkContext._jvm.System.gc()


def keep_lakehouse(day: date) -> dict[str, Any]:
    """The upkeep after the night: compaction, vacuum and the retention policy (`[housekeeping]`)."""
    from databank.housekeeping import keep_lakehouse as keep

    return keep(settings(), day).summary()


def sync_audience(audience: str, destination: str, day: date) -> dict[str, Any]:
    """A scheduled sync of the night: what changed in the audience on `day`, sent to the destination."""
    from databank.audiences import AudienceError
    from databank.reach.sync import sync_audience as sync

    with _not_retryable(AudienceError):
        report = sync(settings(), audience, destination, day)
    return plain_result(report)


def spark_job_file(job: str) -> Path:
    """The file spark-submit runs for a job of spark_jobs/ (each has a command line: `--help`)."""
    path = SPARK_JOBS / f"{job}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no Spark job {job!r}: {path} does not exist")
    return path


def gold_tables(project_dir: Path | None = None) -> list[str]:
    """The marts published as gold tables: one per model under models/marts/ (read without dbt)."""
    marts = (project_dir or find_dbt_project()) / "models" / "marts"
    return sorted(p.stem for p in marts.rglob("*.sql"))


@contextmanager
def _not_retryable(*errors: type[BaseException]) -> Iterator[None]:
    try:
        yield
    except errors as error:
        raise NotRetryableError(f"{type(error).__name__}: {error}") from error


def plain_result(result: Any) -> dict[str, Any]:
    """A job's result dataclass as a JSON-ready dict (what a task returns to XCom)."""
    values = dataclasses.asdict(result)
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def airflow_home(config: Settings | None = None) -> Path:
    """Airflow's home (SQLite metadata, logs) of in-process runs: `<data_dir>/airflow`."""
    return ((config or settings()).data_dir / "airflow").resolve()
