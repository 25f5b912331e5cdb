"""dbt as the marts build runs it: `dbt build` in a subprocess on a build file, and what its
artifacts (run_results.json, manifest.json) say about the models, tests and failures.

The build, the gold gate and the swap that publishes are `databank.marts`; this module only knows
how to call dbt and read what it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from databank.dbt_project import checked_vars, find_dbt_project

WAREHOUSE_PATH_ENV = "DATABANK_DBT_DUCKDB_PATH"  # read by dbt_project/profiles.yml, target `local`
TARGET_ENV = "DATABANK_DBT_TARGET"
# read by dbt_project/profiles.yml, target `local`: DuckDB's settings of the build
MEMORY_LIMIT_ENV = "DATABANK_DBT_MEMORY_LIMIT"
TEMP_DIRECTORY_ENV = "DATABANK_DBT_TEMP_DIRECTORY"
THREADS_ENV = "DATABANK_DBT_THREADS"
# read by dbt_project/macros/run_date.sql: the day built travels outside `--vars`, whose change would
# make dbt parse the whole project again every night
RUN_DATE_ENV = "DATABANK_RUN_DATE"

# the tag of data tests on views that only full builds read: a night would resolve all of history to
# test them (dbt_project/models, e.g. int_records_resolved)
FULL_BUILD_TESTS = "tag:full_build"

FAILED_STATUSES = ("error", "fail", "runtime error")


class MartsBuildError(RuntimeError):
    """The marts build failed (dbt, or a gate after it); the published warehouse and gold were left
    as they were."""

    def __init__(self, message: str, failures: list[dict[str, str]] | None = None) -> None:
        self.failures = failures or []
        lines = [f"{f['unique_id']} ({f['status']}): {f['message']}" for f in self.failures]
        super().__init__("\n  ".join([message, *lines]))


class BuildResources(BaseModel):
    """What the marts build may use of the machine (DuckDB's settings on the local target), and the
    brand's values of the dbt project's vars."""

    memory_limit: str = Field(
        "50%",
        pattern=r"^\d+(\.\d+)?\s*(%|[KMGT]i?B)$",
        description=(
            "DuckDB's memory limit for the build, e.g. 6GB or 50% of the machine's memory; past it, "
            "large operators spill to temp_directory instead of failing. Half by default: the night's "
            "Spark driver shares the machine."
        ),
    )
    temp_directory: Path | None = Field(
        None, description="Where the build spills; default <warehouse folder>/spill, beside the build file."
    )
    threads: int = Field(2, gt=0, description="Models dbt builds at once, and DuckDB's threads per query.")
    vars: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "The brand's values of the dbt project's vars (AIPL windows and switches, RFM, lifecycle, trade "
            "areas: dbt_project.yml), given to every dbt command; a var not set keeps the project's default."
        ),
    )

    def duckdb_config(self, warehouse: Path) -> dict[str, str]:
        """DuckDB's settings for a connection working on `warehouse` (dbt's, the gold export's and
        erasure's rewrite alike), so every one of them spills past the limit instead of growing."""
        spill = self.temp_directory or warehouse.parent / "spill"
        return {"memory_limit": self.memory_limit, "temp_directory": str(spill), "threads": str(self.threads)}

    @field_validator("vars")
    @classmethod
    def _declared(cls, value: dict[str, Any]) -> dict[str, Any]:
        return checked_vars(value, find_dbt_project()) if value else value

    @field_validator("temp_directory")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        # dbt resolves a relative path against its project folder, not the working directory.
        return value if value is None else value.expanduser().absolute()


@dataclass(frozen=True)
class DbtRun:
    """What the dbt step of a build is given."""

    project_dir: Path
    warehouse: Path | None  # the build file of the local target, never the published one; none on Spark
    run_date: date
    full_refresh: bool  # the build file is empty: one pass over all of silver up to run_date
    work_dir: Path  # dbt's target/ and logs/
    on_line: Callable[[str], None] | None = None
    unit_tests: bool = False  # nightly builds run the data tests; unit tests belong to CI
    resources: BuildResources = field(default_factory=BuildResources)
    # databank's settings the project reads as vars (`settings_vars`); a var left out keeps its default
    settings_vars: Mapping[str, Any] = field(default_factory=dict)


DbtStep = Callable[[DbtRun], None]


def run_dbt_build(run: DbtRun) -> None:
    """`dbt build` in a subprocess (the in-process runner keeps the DuckDB file open after it ends).

    A night leaves out the tests of views only full builds read (`FULL_BUILD_TESTS`). Unit tests, when
    asked for, need every model's relation to exist (those of incremental models read their own): on
    an empty build file, `dbt run --empty` first creates every model without rows, and the build that
    follows is a full refresh, so incremental models still build all of history.
    """
    if run.unit_tests and run.full_refresh:
        run_dbt(run, "run", "--empty")
    run_dbt(run, "build", *build_options(run))


def build_options(run: DbtRun) -> list[str]:
    """The options of a run's `dbt build`: the tests it leaves out, and whether it is a full refresh."""
    return [*data_test_options(run), *(["--full-refresh"] * run.full_refresh)]


def data_test_options(run: DbtRun) -> list[str]:
    """The options of a run's tests (in `dbt build` or `dbt test`): the ones it leaves out."""
    excluded = [
        *(["resource_type:unit_test"] * (not run.unit_tests)),
        *([FULL_BUILD_TESTS] * (not run.full_refresh)),
    ]
    return ["--exclude", *excluded] if excluded else []


def run_dbt(run: DbtRun, command: str, *options: str) -> None:
    """One dbt command on the run's build file; raises MartsBuildError naming dbt's failing nodes."""
    arguments = _command_line(run, command, options)
    clear_results(run)
    tail: list[str] = []
    with subprocess.Popen(
        arguments,
        env=_environment(run),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            tail = [*tail[-39:], line.rstrip()]
            if run.on_line:
                run.on_line(line.rstrip())
    failed = failures(run.work_dir / "target")
    if process.returncode != 0 or failed:
        raise MartsBuildError(
            f"dbt {' '.join([command, *options])} for {run.run_date} failed (exit {process.returncode});"
            " nothing was published"
            + ("" if failed else ". Last lines of dbt's output:\n" + "\n".join(tail)),
            failed,
        )


def clear_results(run: DbtRun) -> None:
    """The run's work folder, without the run results of an earlier invocation (which `failures`
    would otherwise read)."""
    (run.work_dir / "target" / "run_results.json").unlink(missing_ok=True)
    run.work_dir.mkdir(parents=True, exist_ok=True)


def _command_line(run: DbtRun, command: str, options: tuple[str, ...]) -> list[str]:
    # -P: the working directory stays off sys.path, so a dbt_*.py there cannot shadow dbt's modules.
    return [sys.executable, "-P", "-m", "dbt.cli.main", *dbt_arguments(run, command, options, "local")]


def dbt_arguments(run: DbtRun, command: str, options: Sequence[str], target: str) -> list[str]:
    """dbt's arguments for one command of the run on `target` (a target of dbt_project/profiles.yml)."""
    # The same vars every night, so dbt's saved manifest stays valid from one night to the next.
    dbt_vars = {**run.resources.vars, **run.settings_vars}
    brand_vars = ["--vars", json.dumps(dbt_vars, sort_keys=True)] if dbt_vars else []
    return [
        command,
        *options,
        *brand_vars,
        "--project-dir",
        str(run.project_dir),
        "--profiles-dir",
        str(run.project_dir),
        "--target",
        target,
        "--target-path",
        str(run.work_dir / "target"),
        "--log-path",
        str(run.work_dir / "logs"),
    ]


def _environment(run: DbtRun) -> dict[str, str]:
    duckdb_config = run.resources.duckdb_config(run.warehouse)
    return {
        **os.environ,
        WAREHOUSE_PATH_ENV: str(run.warehouse),
        TARGET_ENV: "local",
        RUN_DATE_ENV: run.run_date.isoformat(),
        MEMORY_LIMIT_ENV: duckdb_config["memory_limit"],
        TEMP_DIRECTORY_ENV: duckdb_config["temp_directory"],
        THREADS_ENV: duckdb_config["threads"],
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_USE_COLORS": "False",  # failure messages end up in exceptions and logs
    }


def _run_results(target: Path) -> list[dict]:
    path = target / "run_results.json"
    return json.loads(path.read_text())["results"] if path.is_file() else []


def failures(target: Path) -> list[dict[str, str]]:
    """The nodes of dbt's last invocation (in `target`) that errored or failed, with dbt's message."""
    return [
        {"unique_id": r["unique_id"], "status": r["status"], "message": (r.get("message") or "").strip()}
        for r in _run_results(target)
        if r["status"] in FAILED_STATUSES
    ]


def statuses(target: Path) -> dict[str, int]:
    """How many nodes of dbt's last invocation (in `target`) ended in each status."""
    counts: dict[str, int] = {}
    for result in _run_results(target):
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return counts


def declared_meta(target: Path, schema: str, key: str) -> dict[str, str]:
    """`meta: {<key>: <value>}` of the models built into `schema`, by table name, from dbt's manifest
    if there is one."""
    path = target / "manifest.json"
    if not path.is_file():
        return {}
    nodes = json.loads(path.read_text())["nodes"].values()
    return {
        node["alias"] or node["name"]: node["config"]["meta"][key]
        for node in nodes
        if node["resource_type"] == "model"
        and node["schema"] == schema
        and node["config"].get("meta", {}).get(key)
    }
