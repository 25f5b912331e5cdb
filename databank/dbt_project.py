"""Where the dbt project is: light enough for the DAG file to import at parse time."""

from __future__ import annotations

import os
from pathlib import Path

from databank.resources import dbt_project_folder

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
