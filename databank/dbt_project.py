"""Where the dbt project is: light enough for the DAG file to import at parse time."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from databank.resources import dbt_project_folder

if TYPE_CHECKING:  # the settings import pydantic and the rest; the DAG file imports this at parse time
    from databank.config import Settings

PROJECT_DIR_ENV = "DATABANK_DBT_PROJECT_DIR"


def find_dbt_project() -> Path:
    """dbt_project/ of this checkout (beside the package), of the working directory, or named by env."""
    candidates = [
        Path(os.environ[PROJECT_DIR_ENV]) if PROJECT_DIR_ENV in os.environ else None,
        dbt_project_folder(),
        Path.cwd() / "dbt_project",
    ]
    for candidate in candidates:
        if candidate is not None and (candidate / "dbt_project.yml").is_file():
            return candidate
    raise FileNotFoundError(
        f"no dbt project found (looked in {', '.join(str(c) for c in candidates if c)}); "
        f"set {PROJECT_DIR_ENV} to the folder holding dbt_project.yml"
    )


def dbt_work_dir(reports: Path) -> Path:
    """Where a build keeps dbt's target/ (manifest, run results) and logs/: under the reports folder."""
    return reports / "dbt"


# Vars databank sets itself, from its own settings and the night it runs.
RESERVED_VARS = {
    "run_date": "the night's date, which databank passes to each build",
    "business_timezone": "databank's setting business_timezone, which every build passes to dbt",
    "ingest_late_days": "databank's setting ingest.late_days, which every build passes to dbt",
    "ingest_future_tolerance_minutes": (
        "databank's setting ingest.future_tolerance_minutes, which every build passes to dbt"
    ),
}


def settings_vars(settings: Settings) -> dict[str, Any]:
    """The vars every build is given from databank's settings: the zone silver's local days are cut
    in, and the delivery window ingestion holds each record's event time to."""
    return {
        "business_timezone": settings.business_timezone,
        "ingest_late_days": settings.ingest.late_days,
        "ingest_future_tolerance_minutes": settings.ingest.future_tolerance_minutes,
    }


def declared_vars(project: Path) -> dict[str, Any]:
    """The vars the dbt project declares (`vars:` of dbt_project.yml) with their defaults."""
    return yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8")).get("vars") or {}


def checked_vars(values: dict[str, Any], project: Path) -> dict[str, Any]:
    """`values` if each is a var the project declares, of its default's kind; else ValueError naming
    every var that is not, and the ones there are."""
    declared = declared_vars(project)
    problems = []
    for name, value in values.items():
        if name in RESERVED_VARS:
            problems.append(f"{name} is not set here: it is {RESERVED_VARS[name]}")
        elif name not in declared:
            close = difflib.get_close_matches(name, declared, n=1)
            known = f"did you mean {close[0]}?" if close else f"there are {', '.join(sorted(declared))}"
            problems.append(f"{name} is no var of the dbt project: {known}")
        elif not _fits(value, declared[name]):
            default = declared[name]
            problems.append(f"{name} = {value!r} is not a {_kind(default)} like its default {default!r}")
    if problems:
        raise ValueError("; ".join(problems))
    return values


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return {int: "whole number", float: "number", str: "text", list: "list", dict: "mapping"}.get(
        type(value), type(value).__name__
    )


def _fits(value: Any, default: Any) -> bool:
    # A var with a whole default (a window in days) takes whole numbers only; a decimal one takes both.
    return _kind(value) == _kind(default) or (_kind(default) == "number" and _kind(value) == "whole number")
