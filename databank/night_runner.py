"""`databank run`: the nightly DAG run in this process, day by day (`dag.test`).

`run_days` runs the days in order, after `databank.night_checks` found nothing missing, and reports
each: a day on which no task ran is a failure with its reason, never a success.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any, TextIO

from pluggy import HookimplMarker

from databank.config import Settings
from databank.lineage_settings import airflow_environment
from databank.pipeline import (
    DAG_FILE,
    DAG_ID,
    airflow_home,
    first_business_day,
    landing_folder,
    settings,
)

RAN = ("success", "failed")  # the final states of a task that ran


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
    reason: str | None = None  # why the day failed when no task of it did

    @property
    def ran(self) -> int:
        """Tasks that ran, whatever their outcome."""
        return sum(t.state in RAN for t in self.tasks)

    @property
    def skipped(self) -> int:
        return sum(t.state == "skipped" for t in self.tasks)

    @property
    def rows_delivered(self) -> int:
        """Rows read from the day's landing files, over every feed."""
        return sum(v["rows_delivered"] for k, v in self.returned.items() if k.endswith(".ingest") and v)

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
    reads its configuration once, at import. Check the days with `check_night_can_run` first: a night
    without a key or reference data fails only once its tasks reach them.
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
    config = settings()
    os.environ.update(
        {
            **airflow_environment(config.lineage, config.reports),
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
    if not any(task.state in RAN for task in tasks):
        return DayRun(day, "failed", seconds, tasks, reason=_why_nothing_ran(day, config))
    state = str(run.state.value if hasattr(run.state, "value") else run.state)
    return DayRun(day, state, seconds, tasks, _returned(run))


def _why_nothing_ran(day: date, config: Settings) -> str:
    # Airflow gives a day outside the DAG's dates a run without tasks, and calls it a success.
    first, last = first_business_day(config), config.pipeline.end_date
    return (
        f"no task ran for {day}: the DAG makes no task for a day outside its dates, {first or 'unknown'} "
        f"to {last or 'no end'} ([pipeline] start_date, else the first day a required feed landed; "
        "[pipeline] end_date)"
    )


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
