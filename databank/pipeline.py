"""The work of each task of the nightly DAG (`dags/databank_nightly.py`), as plain functions.

Every function takes the business day (and the feed, where there is one), reads the settings the way
every databank command does (`databank.toml`, `DATABANK_*`), and is idempotent: running it again for a
day replaces what it wrote for that day. Spark tasks share one SparkSession per process, built on
first use: one per task process under an Airflow executor, one for a whole `databank run`.

Importing this module is cheap (the DAG file does it at parse time): Spark, DuckDB and delta-rs are
imported inside the functions that use them. Parsing must never touch delta-rs in any case: its
runtime does not survive a fork, and Airflow forks task processes from the ones that parse.

`run_days` runs the DAG in-process for a range of days (`databank run`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pluggy import HookimplMarker

from databank.config import MissingKeyError, Settings, load_settings
from databank.dbt_project import find_dbt_project

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DAG_ID = "databank_nightly"
DAG_FILE = Path(__file__).resolve().parent.parent / "dags" / f"{DAG_ID}.py"
SPARK_JOBS = Path(__file__).resolve().parent.parent / "spark_jobs"


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


def ingest(feed: str, day: date) -> dict[str, Any]:
    """Landing files of `feed` for `day` -> bronze and quarantine; what was read and where it went."""
    from databank.lakehouse import lakehouse_for
    from spark_jobs.ingest_feed import RowsLostError
    from spark_jobs.ingest_feed import ingest as ingest_feed

    config = settings()
    with _not_retryable(MissingKeyError, RowsLostError):
        result = ingest_feed(spark(), lakehouse_for(config), config, feed, day)
    return _plain(result)


def standardise(feed: str, day: date) -> dict[str, Any]:
    """Bronze of `feed` for `day` -> silver and identifier sightings; rows in and out."""
    from databank.lakehouse import lakehouse_for
    from spark_jobs.standardise import NotIngestedError
    from spark_jobs.standardise import standardise as standardise_feed

    config = settings()
    with _not_retryable(NotIngestedError):
        result = standardise_feed(spark(), lakehouse_for(config), config, feed, day)
    return _plain(result)


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


def resolve(day: date) -> dict[str, Any]:
    """The day's identifier sightings -> OneID (incremental on the previous day's snapshot)."""
    from databank.lakehouse import lakehouse_for
    from spark_jobs.resolve_identity import resolve as resolve_identity

    config = settings()
    return _plain(resolve_identity(spark(), lakehouse_for(config), config, day))


def build_and_publish_marts(day: date) -> dict[str, Any]:
    """dbt builds the day's marts aside; they are published as the warehouse and gold Delta tables."""
    from databank.marts import MartsBuildError, build_marts

    with _not_retryable(MartsBuildError):
        result = build_marts(settings(), day)
    return {
        "run_date": day.isoformat(),
        "seconds": round(result.seconds, 1),
        "dbt_statuses": result.dbt_statuses,
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


def gold_path(table: str, config: Settings | None = None) -> Path:
    """The gold Delta table of a mart, as an absolute path."""
    return ((config or settings()).lakehouse / "gold" / table).resolve()


@contextmanager
def _not_retryable(*errors: type[BaseException]) -> Iterator[None]:
    try:
        yield
    except errors as error:
        raise NotRetryableError(f"{type(error).__name__}: {error}") from error


def _plain(result: Any) -> dict[str, Any]:
    """A job's result dataclass as a JSON-ready dict (what a task returns to XCom)."""
    values = dataclasses.asdict(result)
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


# ---- `databank run`: the DAG in-process, day by day ------------------------------------------------

_listens = HookimplMarker("airflow")  # marks Airflow listener hooks (pluggy, as Airflow's own marker)
TaskEvent = Callable[[date, str, str], None]  # (day, task id, running | success | failed | skipped)


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    state: str  # Airflow's final state: success, failed, upstream_failed, skipped, ...
    seconds: float | None
    error: str | None = None  # why it failed, as the task raised it


@dataclass(frozen=True)
class DayRun:
    day: date
    state: str  # success | failed
    seconds: float
    tasks: tuple[TaskOutcome, ...]
    returned: dict[str, Any] = field(default_factory=dict)  # what each task returned, by task id

    @property
    def failed(self) -> list[TaskOutcome]:
        """Tasks that failed themselves (not those left undone behind them)."""
        return [t for t in self.tasks if t.state == "failed"]

    @property
    def skipped_feeds(self) -> list[str]:
        """Optional feeds that were not delivered for the day."""
        return sorted(
            t.task_id.split(".")[0]
            for t in self.tasks
            if t.task_id.endswith(".wait_for_landing") and t.state == "skipped"
        )

    @property
    def published(self) -> dict[str, Any] | None:
        """What build_and_publish_marts returned: the run date and each gold table's figures."""
        return self.returned.get("build_and_publish_marts")


@dataclass(eq=False)  # registered by identity
class _Listener:
    """Hears each task of the in-process run start and finish (Airflow's listener interface)."""

    day: date
    on_task: TaskEvent | None
    errors: dict[str, str] = field(default_factory=dict)

    def _tell(self, task_instance: Any, state: str) -> None:
        if self.on_task:
            self.on_task(self.day, task_instance.task_id, state)

    @_listens
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        self._tell(task_instance, "running")

    @_listens
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        self._tell(task_instance, "success")

    @_listens
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        self._tell(task_instance, "skipped")

    @_listens
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        if error is not None:
            self.errors[task_instance.task_id] = (
                error if isinstance(error, str) else f"{type(error).__name__}: {error}"
            )
        self._tell(task_instance, "failed")


def airflow_home(config: Settings | None = None) -> Path:
    """Airflow's home (SQLite metadata, logs) of in-process runs: `<data_dir>/airflow`."""
    return ((config or settings()).data_dir / "airflow").resolve()


def run_days(
    days: list[date],
    *,
    wait_minutes: int = 0,
    on_task: TaskEvent | None = None,
    on_day: Callable[[DayRun], None] | None = None,
) -> list[DayRun]:
    """Run the nightly DAG in this process for each day in order (`dag.test`); stop at the first that fails.

    Airflow keeps its metadata in SQLite under `<data_dir>/airflow`. The days' data are normally landed
    already, so a missing required feed fails at once unless `wait_minutes` say otherwise. Nights run
    in the order given, so the DAG's `depends_on_past` is turned off here (it would wait forever on a
    run this process does not make). Must run before anything in the process imports Airflow, which
    reads its configuration once, at import.
    """
    home = airflow_home()
    _configure_airflow(home, wait_minutes)
    config = settings()
    from airflow.utils import db

    # Py4J says goodbye through Airflow's log handlers at exit, after the run's log is closed.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    home.mkdir(parents=True, exist_ok=True)
    db.upgradedb()  # creates the metadata database on first use
    dag = _load_dag()
    results = []
    for day in days:
        result = _run_day(dag, day, config, on_task)
        results.append(result)
        if on_day:
            on_day(result)
        if result.state != "success":
            break
    return results


def _configure_airflow(home: Path, wait_minutes: int) -> None:
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != str(home):
        raise RuntimeError(
            f"Airflow was imported before run_days could point it at {home}: run days in a fresh process"
        )
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
            "DATABANK_PIPELINE__DEPENDS_ON_PAST": "false",
            "DATABANK_PIPELINE__LANDING_TIMEOUT_MINUTES": str(wait_minutes),
            "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
        }
    )
    settings.cache_clear()  # the pipeline settings just changed


def _load_dag() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(DAG_ID, DAG_FILE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the DAG file {DAG_FILE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.nightly


def _run_day(dag: Any, day: date, config: Settings, on_task: TaskEvent | None) -> DayRun:
    from airflow.sdk.listener import get_listener_manager

    listener = _Listener(day, on_task)
    manager = get_listener_manager()
    manager.add_listener(listener)
    started = time.perf_counter()
    try:
        # The run of day D is triggered at the local midnight ending D; its data interval is D.
        logical_date = datetime.combine(day + timedelta(days=1), clock(), tzinfo=config.tz)
        run = dag.test(logical_date=logical_date)
    finally:
        manager.pm.unregister(listener)
    seconds = time.perf_counter() - started
    tasks = tuple(
        TaskOutcome(
            ti.task_id,
            str(ti.state.value if hasattr(ti.state, "value") else ti.state),
            ti.duration,
            _explained(ti.task_id, listener.errors.get(ti.task_id), day, config),
        )
        for ti in sorted(run.get_task_instances(), key=lambda ti: (ti.start_date is None, ti.start_date))
    )
    state = str(run.state.value if hasattr(run.state, "value") else run.state)
    return DayRun(day, state, seconds, tasks, _returned(run))


def _explained(task_id: str, error: str | None, day: date, config: Settings) -> str | None:
    """A sensor's timeout said in terms of the feed it waited for."""
    feed, _, step = task_id.partition(".")
    if error and step == "wait_for_landing" and "AirflowSensorTimeout" in error:
        folder = landing_folder(feed, day, config)
        waited = config.pipeline.landing_timeout_minutes
        return f"required feed {feed} has not landed for {day}: no files in {folder} (waited {waited} min)"
    return error


@contextmanager
def output_to(log_file: Path) -> Iterator[TextIO]:
    """Send what this process and the processes it starts print (Airflow's and Spark's logs) to
    `log_file`; yield a stream to the terminal for what the user should see."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(1), "w", buffering=1)
    try:
        with open(log_file, "ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield terminal
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])
        terminal.close()


def _returned(run: Any) -> dict[str, Any]:
    """Every task's return value (its XCom) in a finished run, by task id."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, key="return_value")
        ).all()
        return {row.task_id: XComModel.deserialize_value(row) for row in rows}
