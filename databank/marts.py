"""Build the marts with dbt and publish them: the analyst warehouse (DuckDB) and gold Delta tables.

Readers never see a half-built warehouse. A night's build works on a copy: the published file
(`data/warehouse/databank.duckdb`) is copied to a build file beside it, silver is registered there,
`dbt build` runs against the copy, the gold quality gate checks the copy's marts
(`databank.quality.gates.check_gold`), every table of the `marts` schema is written to
`<lakehouse>/gold/<table>` as Delta, and only then does the build file replace the published one
with `os.replace`. The swap is the night's commit point: atomic on POSIX, so a dashboard opens either
last night's file or tonight's, and one already holding the old file open keeps reading the old
inode until it closes. If dbt fails, the error lists dbt's failing nodes and nothing is published;
if a critical expectation of the gold gate fails, the error names it and nothing is published; if
writing gold fails, the warehouse stays at last night and a re-run writes gold again. A night runs
the models and their data tests; dbt's unit tests check SQL logic, not data, and run in the test
suite (`unit_tests=True`). Gold: `databank.gold_tables`.

History is kept as it was known each night (docs/aipl.md, "History"): a night evaluates its own day
with that night's identity map and data and never rewrites the days before it. There are two ways
to rebuild from an empty file, and they differ exactly there:

- a full refresh (`full_refresh=True`, also what a build with no published warehouse does) replays
  every night OneID ran, up to the run date, one after the other on the build file, the first as a
  full build and the rest as nights: it gives back the history the nights published (after a lost
  warehouse or a schema change) and costs one dbt build per night;
- a restatement (`restate=True`) is one full build under the run date's identity map and everything
  loaded by then: earlier days are evaluated with hindsight (ids merged since count as one consumer,
  late data counts on its own day), so their funnels change. It is fast, and it is never implied.

On the cluster profile dbt-spark writes the marts into gold itself (`--target spark`, Delta); this
module is the one-machine path. Calling dbt and reading its artifacts: `databank.dbt_runner`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from databank.config import Settings
from databank.dbt_project import dbt_work_dir, find_dbt_project, settings_vars
from databank.dbt_runner import DbtRun, DbtStep, MartsBuildError, declared_meta, run_dbt_build, statuses
from databank.docs_site import publish_docs_site
from databank.gold_tables import GOLD_PARTITIONS, MARTS_SCHEMA, PublishedTable, publish_gold
from databank.warehouse import register_silver


class GoldQualityError(MartsBuildError):
    """A critical expectation of the gold quality gate failed on the build; nothing was published."""


class BuildInProgressError(RuntimeError):
    """Another build of the same warehouse holds its lock."""


# (settings, build file, run date) -> the warnings it found, if any; raises to stop the publish
GoldGate = Callable[[Settings, Path, date], Sequence[str] | None]


@dataclass(frozen=True)
class BuildResult:
    run_date: date
    warehouse: Path
    tables: tuple[PublishedTable, ...]
    nights: tuple[date, ...] = ()  # the nights dbt built, in order (more than one: a replay)
    restated: bool = False
    dbt_statuses: dict[str, int] = field(default_factory=dict)
    dbt_seconds: float = 0.0
    gate_seconds: float = 0.0  # the gold quality gate
    gold_seconds: float = 0.0
    docs_site: str = "not built"  # rebuilt | up to date | failed: <why> (databank.docs_site)
    gold_warnings: tuple[str, ...] = ()  # the gold gate's failed warnings, e.g. a stale source
    seconds: float = 0.0


def build_marts(
    settings: Settings,
    run_date: date,
    full_refresh: bool = False,
    *,
    restate: bool = False,
    dbt_step: DbtStep | None = None,
    gold_gate: GoldGate | None = None,
    on_line: Callable[[str], None] | None = None,
    on_night: Callable[[date, int, int], None] | None = None,
    retention_days: int = 7,
    unit_tests: bool = False,
) -> BuildResult:
    """Build the marts of `run_date` aside, write gold, then swap the build in as the warehouse.

    By default the night continues the published warehouse. `full_refresh` rebuilds history as it was
    known, night by night; `restate` rebuilds it in one pass under today's ids (see the module's
    docstring). `dbt_step` replaces dbt (tests); `gold_gate` checks the build file before anything is
    published (default: the gold quality gate; with a replaced dbt step, which builds no real marts,
    only the one given); `on_line` receives each line dbt prints, `on_night` each night as dbt starts
    it (night, its number from 1, how many); `unit_tests` adds dbt's unit tests to the first night's
    data tests (the test suite does, a night need not: they test SQL logic, not the night's data).
    """
    started = time.perf_counter()
    work_dir = dbt_work_dir(settings.reports)
    if full_refresh and restate:
        raise ValueError("a full refresh keeps history as known, a restatement rewrites it: choose one")
    with built_aside(settings.warehouse, fresh=full_refresh or restate) as (build, fresh):
        with duckdb.connect(str(build), config=settings.marts_build.duckdb_config(build)) as con:
            registered = register_silver(con, settings.lakehouse)
            earlier = [] if restate or not fresh else _nights_before(con, registered, run_date)
        nights = (*earlier, run_date)

        dbt_started = time.perf_counter()
        project = find_dbt_project()
        dbt_statuses: dict[str, int] = {}
        for number, night in enumerate(nights, start=1):
            if on_night:
                on_night(night, number, len(nights))
            first = number == 1
            step = DbtRun(
                project,
                build,
                night,
                fresh and first,
                work_dir,
                on_line,
                unit_tests and first,
                settings.marts_build,
                settings_vars(settings),
            )
            (dbt_step or run_dbt_build)(step)
            for status, count in statuses(work_dir / "target").items():
                dbt_statuses[status] = dbt_statuses.get(status, 0) + count
        dbt_seconds = time.perf_counter() - dbt_started

        gate_started = time.perf_counter()
        gate = gold_gate or (None if dbt_step else gold_quality_gate)
        warnings = gate(settings, build, run_date) if gate is not None else None
        gate_seconds = time.perf_counter() - gate_started

        gold_started = time.perf_counter()
        partitions = {
            **GOLD_PARTITIONS,
            **declared_meta(work_dir / "target", MARTS_SCHEMA, "gold_partition_by"),
        }
        with duckdb.connect(str(build), config=settings.marts_build.duckdb_config(build)) as con:
            con.execute("SET TimeZone = 'UTC'")
            tables = publish_gold(
                con,
                Path(settings.lakehouse) / "gold",
                partitions,
                rewrite_all=full_refresh or restate,
                retention_hours=retention_days * 24,
            )
        gold_seconds = time.perf_counter() - gold_started

        docs_site = "not built" if dbt_step else publish_docs_site(step, settings.reports)
    return BuildResult(
        run_date=run_date,
        warehouse=settings.warehouse,
        tables=tuple(tables),
        nights=nights,
        restated=restate,
        dbt_statuses=dbt_statuses,
        dbt_seconds=dbt_seconds,
        gate_seconds=gate_seconds,
        gold_seconds=gold_seconds,
        docs_site=docs_site,
        gold_warnings=tuple(warnings or ()),
        seconds=time.perf_counter() - started,
    )


def _nights_before(con: duckdb.DuckDBPyConnection, registered: list[str], run_date: date) -> list[date]:
    """The nights before `run_date` that OneID ran (one identity-map snapshot each), in order."""
    if "identity_map" not in registered:
        return []
    rows = con.execute(
        "SELECT DISTINCT CAST(dt AS DATE) AS night FROM silver.identity_map WHERE CAST(dt AS DATE) < ? "
        "ORDER BY night",
        [run_date],
    ).fetchall()
    return [row[0] for row in rows]


def gold_quality_gate(settings: Settings, build: Path, run_date: date) -> list[str]:
    """The gold gate on the build file: its failed warnings; a critical failure stops the build before
    it is published."""
    # Imported here: Great Expectations takes seconds to import, and this module is imported by
    # commands that never build.
    from databank.quality.gates import QualityGateError, check_gold

    try:
        return check_gold(settings, build, run_date).failed_warning
    except QualityGateError as error:
        failures = [
            {"unique_id": name, "status": "critical", "message": error.observed[name]}
            for name in error.report.failed_critical
        ]
        raise GoldQualityError(
            f"the gold quality gate failed for {run_date}; nothing was published", failures
        ) from error


@contextmanager
def built_aside(published: Path, fresh: bool) -> Iterator[tuple[Path, bool]]:
    """A build of the `published` warehouse, in a file beside it and under its build lock: yields the
    build file and whether it starts empty (`fresh`, or nothing published yet; otherwise it starts as a
    copy of the published file). When the block ends without an error the build file is swapped in,
    atomically; after an error the published file is as it was."""
    published.parent.mkdir(parents=True, exist_ok=True)
    build = _build_file_of(published)
    with build_lock(published):
        started_empty = _prepare_build_file(published, build, fresh)
        yield build, started_empty
        with duckdb.connect(str(build)) as con:
            con.execute("CHECKPOINT")  # nothing left in a write-ahead log beside the file
        os.replace(build, published)


def _build_file_of(published: Path) -> Path:
    return published.with_name(f"{published.stem}.build{published.suffix}")


@contextmanager
def build_lock(published: Path) -> Iterator[None]:
    # Two builds of one warehouse would write the same build file.
    with open(published.with_name(published.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise BuildInProgressError(f"another build of {published} is running") from error
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _prepare_build_file(published: Path, build: Path, fresh: bool) -> bool:
    for leftover in (build, build.with_name(build.name + ".wal")):
        leftover.unlink(missing_ok=True)  # of a build that died
    # Incremental marts start from their previous state: copying the file is cheap next to
    # rebuilding their history. Readers only ever open the published file, never this copy.
    if fresh or not published.exists():
        return True
    shutil.copyfile(published, build)
    return False
