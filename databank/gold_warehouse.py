"""The analyst warehouse of the cluster profile: the night's gold, as dbt-spark wrote it, opened in DuckDB.

On the cluster profile the marts job writes gold itself (`databank.spark_marts`), while dashboards,
notebooks, audience exports and `databank status` read the warehouse file. After that job the night's
`publish_warehouse` task makes a new warehouse file beside the published one:

- `silver.<table>`, `intermediate.<model>` and `marts.<mart>` are views over exactly the Parquet files
  the Delta logs of silver, the intermediate tables and gold list as active (nothing is copied:
  `databank.warehouse.register_delta_tables`);
- dbt-duckdb makes the project's views (the staging models and any other model materialised as a
  view), which an audience or a notebook may read as on the embedded profile;
- dbt-duckdb runs the night's data tests on it, the tests a build on the embedded profile runs (the
  marts job only runs the models: a test is a query here, a Spark job there);
- the gold quality gate checks the file as it checks the embedded build;

and only then is it swapped in for the published file, atomically. A failed data test or critical
expectation fails the night before an audience is synced from it; gold itself was written by the marts
job, and running the night again once the cause is mended rewrites it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from databank.config import Settings
from databank.dbt_project import dbt_work_dir, find_dbt_project, settings_vars
from databank.dbt_runner import DbtRun, data_test_options, run_dbt
from databank.gold_tables import MARTS_SCHEMA
from databank.marts import GoldGate, built_aside, gold_quality_gate
from databank.warehouse import (
    GOLD_WAREHOUSE_SCHEMAS,
    SCHEMA_FOLDERS,
    delta_tables_in,
    register_delta_tables,
    register_silver,
)

# dbt's selector of the models the warehouse makes itself: views cost nothing to make and read their
# tables where they are.
VIEW_MODELS = "config.materialized:view"


@dataclass(frozen=True)
class WarehouseResult:
    run_date: date
    warehouse: Path
    tables: dict[str, list[str]]  # by schema, the Delta tables shown as views
    gold_warnings: tuple[str, ...]
    seconds: float


def publish_warehouse_from_gold(
    settings: Settings, run_date: date, gold_gate: GoldGate | None = gold_quality_gate
) -> WarehouseResult:
    """A new warehouse over the lakehouse's silver, intermediate and gold tables, with the project's
    views, checked by the night's data tests and `gold_gate` (either raises to stop it) and swapped in;
    returns what it shows.

    The first warehouse (none published yet) follows the marts job's first build, a full one, and runs
    the tests only full builds run, as on the local target."""
    started = time.perf_counter()
    lakehouse = Path(settings.lakehouse)
    first = not settings.warehouse.exists()
    with built_aside(settings.warehouse, fresh=True) as (build, _):
        with duckdb.connect(str(build), config=settings.marts_build.duckdb_config(build)) as con:
            tables = {"silver": register_silver(con, lakehouse)}
            for schema in GOLD_WAREHOUSE_SCHEMAS:
                folder = lakehouse / SCHEMA_FOLDERS[schema]
                tables[schema] = register_delta_tables(con, folder, schema, delta_tables_in(folder))
        if not tables[MARTS_SCHEMA]:
            raise FileNotFoundError(f"no gold table under {lakehouse / 'gold'}: the marts job has not run")
        night = DbtRun(
            project_dir=find_dbt_project(),
            warehouse=build,
            run_date=run_date,
            full_refresh=first,
            work_dir=dbt_work_dir(settings.reports) / "warehouse",
            resources=settings.marts_build,
            settings_vars=settings_vars(settings),
        )
        run_dbt(night, "run", "--select", VIEW_MODELS)
        run_dbt(night, "test", *data_test_options(night))
        warnings = gold_gate(settings, build, run_date) if gold_gate else None
    return WarehouseResult(
        run_date, settings.warehouse, tables, tuple(warnings or ()), time.perf_counter() - started
    )
