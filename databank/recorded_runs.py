"""The nightly DAG's runs as Airflow recorded them: its metadata database (SQLite) read directly.

In-process runs (`databank run`) and the standalone scheduler keep their metadata in
`<data_dir>/airflow/airflow.db`. It is read with the standard library, read-only, and without
importing Airflow, which takes seconds and reads its configuration at import. A day has one run:
running a day again replaces its run (one per logical date), so the latest run of a day is its run.

Airflow keeps no exception in its metadata: the DAG's failure callback (`record_failure`) keeps each
failed task's error, in one line, as the task's XCom `failure`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from databank.pipeline import business_day, landing_folder

FAILURE_KEY = "failure"  # the XCom a failed task's callback leaves its reason in
RETURN_KEY = "return_value"
FAILURE_REASON_CHARACTERS = 300


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    state: str | None  # None: never scheduled
    seconds: float | None
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class RunRecord:
    """One business day's run: its state and tasks, what each task returned and why any failed."""

    day: date
    state: str
    ended_at: datetime | None
    tasks: tuple[TaskRecord, ...]
    returned: dict[str, Any]  # by task id
    failures: dict[str, str]  # by task id


def read_runs(airflow_db: Path, dag_id: str, tz: ZoneInfo, last: int | None = None) -> list[RunRecord]:
    """The runs of the last `last` business days that have one (all when None), earliest first."""
    if not airflow_db.is_file():
        return []
    with closing(_read_only(airflow_db)) as db:
        runs = _latest_run_by_day(db, dag_id, tz)
        days = sorted(runs)[-last:] if last else sorted(runs)
        return [_run(db, dag_id, day, *runs[day]) for day in days]


def run_states(airflow_db: Path, dag_id: str, tz: ZoneInfo) -> dict[date, str]:
    """The state of each business day's run, whatever its age."""
    if not airflow_db.is_file():
        return {}
    with closing(_read_only(airflow_db)) as db:
        return {day: state for day, (_, state, _) in _latest_run_by_day(db, dag_id, tz).items()}


def record_failure(context: Mapping[str, Any]) -> None:
    """The DAG's on_failure_callback: the task's error in one line, kept as its XCom `failure`."""
    task = context["ti"]
    start = context.get("data_interval_start")
    reason = failure_reason(task.task_id, context.get("exception"), business_day(start) if start else None)
    task.xcom_push(key=FAILURE_KEY, value=reason)


def failure_reason(task_id: str, error: BaseException | str | None, day: date | None) -> str:
    """Why a task failed, in one line; a landing sensor's timeout in terms of the feed it waited for."""
    feed, _, step = task_id.partition(".")
    if step == "wait_for_landing" and type(error).__name__ == "AirflowSensorTimeout" and day:
        return f"required feed {feed} has not landed for {day}: no files in {landing_folder(feed, day)}"
    if error is None:
        return "failed without an error: see the task's log"
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}".removesuffix(": ")
    # Messages name files, counts and checks; their first line says enough, and never a data row.
    lines = text.strip().splitlines() or ["failed without a message: see the task's log"]
    return lines[0][:FAILURE_REASON_CHARACTERS]


def _business_day(data_interval_start: str, tz: ZoneInfo) -> date:
    """The local day a run covers: its data interval starts at that day's local midnight."""
    return _utc(data_interval_start).astimezone(tz).date()


def _utc(recorded: str) -> datetime:
    """A timestamp as Airflow stores it in SQLite (UTC, without a zone)."""
    return datetime.fromisoformat(recorded).replace(tzinfo=UTC)


def _read_only(airflow_db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{airflow_db.resolve().as_uri()}?mode=ro", uri=True)


def _latest_run_by_day(db: sqlite3.Connection, dag_id: str, tz: ZoneInfo) -> dict[date, tuple]:
    """(run id, state, end) of each day's latest run: a later run of a day replaces the earlier."""
    runs = db.execute(
        "SELECT run_id, state, data_interval_start, end_date FROM dag_run "
        "WHERE dag_id = ? AND data_interval_start IS NOT NULL ORDER BY id",
        [dag_id],
    ).fetchall()
    return {_business_day(start, tz): (run_id, state, end) for run_id, state, start, end in runs}


def _run(
    db: sqlite3.Connection, dag_id: str, day: date, run_id: str, state: str, end: str | None
) -> RunRecord:
    tasks = db.execute(
        "SELECT task_id, state, duration, start_date, end_date FROM task_instance "
        "WHERE dag_id = ? AND run_id = ? ORDER BY start_date IS NULL, start_date, task_id",
        [dag_id, run_id],
    ).fetchall()
    xcoms = db.execute(
        "SELECT task_id, key, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key IN (?, ?)",
        [dag_id, run_id, RETURN_KEY, FAILURE_KEY],
    ).fetchall()
    values = {(task_id, key): json.loads(value) for task_id, key, value in xcoms if value is not None}
    return RunRecord(
        day=day,
        state=state,
        ended_at=_utc_or_none(end),
        tasks=tuple(
            TaskRecord(task_id, task_state, seconds, _utc_or_none(start), _utc_or_none(stop))
            for task_id, task_state, seconds, start, stop in tasks
        ),
        returned={task_id: value for (task_id, key), value in values.items() if key == RETURN_KEY},
        failures={task_id: str(value) for (task_id, key), value in values.items() if key == FAILURE_KEY},
    )


def _utc_or_none(recorded: str | None) -> datetime | None:
    return _utc(recorded) if recorded else None
