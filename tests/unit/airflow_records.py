"""A tiny Airflow metadata database (SQLite) with the columns `databank.recorded_runs` reads, holding
the runs, task instances and XComs a test gives, stored as Airflow stores them (naive UTC text, JSON)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DAG_ID = "databank_nightly"

SCHEMA = """
CREATE TABLE dag_run (
    id INTEGER PRIMARY KEY, dag_id TEXT, run_id TEXT, state TEXT, data_interval_start TIMESTAMP,
    start_date TIMESTAMP, end_date TIMESTAMP
);
CREATE TABLE task_instance (
    dag_id TEXT, run_id TEXT, task_id TEXT, map_index INTEGER DEFAULT -1, state TEXT,
    duration REAL, start_date TIMESTAMP, end_date TIMESTAMP
);
CREATE TABLE xcom (
    dag_id TEXT, run_id TEXT, task_id TEXT, map_index INTEGER DEFAULT -1, key TEXT, value JSON
);
"""


@dataclass(frozen=True)
class Task:
    task_id: str
    state: str
    start: str  # "HH:MM:SS" on the run's wall-clock day, UTC
    end: str
    returned: Any = None
    failure: str | None = None


@dataclass(frozen=True)
class Run:
    run_id: str
    state: str
    data_interval_start: str  # as Airflow stores it: "2026-02-28 16:00:00.000000" (UTC)
    ended: str | None  # "HH:MM:SS", UTC
    tasks: tuple[Task, ...] = field(default_factory=tuple)


WALL_CLOCK_DAY = "2026-12-02"


def write_metadata(path: Path, runs: list[Run]) -> Path:
    """An airflow.db at `path` holding `runs`, in the order given (the later, the newer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(SCHEMA)
        for run in runs:
            # dag.test() records the logical date as the run's start: it says nothing of the run.
            db.execute(
                "INSERT INTO dag_run (dag_id, run_id, state, data_interval_start, start_date, end_date) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    DAG_ID,
                    run.run_id,
                    run.state,
                    run.data_interval_start,
                    run.data_interval_start,
                    _at(run.ended),
                ],
            )
            for task in run.tasks:
                _write_task(db, run.run_id, task)
    return path


def _write_task(db: sqlite3.Connection, run_id: str, task: Task) -> None:
    start, end = _at(task.start), _at(task.end)
    seconds = (_seconds(task.end) - _seconds(task.start)) if task.start and task.end else None
    db.execute(
        "INSERT INTO task_instance (dag_id, run_id, task_id, state, duration, start_date, end_date) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [DAG_ID, run_id, task.task_id, task.state, seconds, start, end],
    )
    for key, value in (("return_value", task.returned), ("failure", task.failure)):
        if value is not None:
            db.execute(
                "INSERT INTO xcom (dag_id, run_id, task_id, key, value) VALUES (?, ?, ?, ?, ?)",
                [DAG_ID, run_id, task.task_id, key, json.dumps(value)],
            )


def _at(clock: str | None) -> str | None:
    return f"{WALL_CLOCK_DAY} {clock}.000000" if clock else None


def _seconds(clock: str) -> int:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return hours * 3600 + minutes * 60 + seconds
