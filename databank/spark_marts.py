"""The marts on the cluster profile: dbt-spark builds them inside a Spark application, as Delta tables
of the lakehouse (`gold/<mart>`, and `intermediate/<model>` for the intermediate models that are tables).

dbt-spark's `session` method takes the application's SparkSession (`getOrCreate()`), so dbt runs in
the driver's own process and its models run on the application's executors (`spark_jobs.build_marts`,
which the nightly DAG submits). An application without a metastore keeps its catalog in memory until
it ends, so each build first declares the lakehouse in it: silver's Delta tables as `silver.<table>`,
and each schema dbt writes as a database at its folder, with the Delta tables earlier nights left
there. An incremental model then finds its table and merges the night into it, as on the local target.
Views are made again by every build.

This path publishes gold table by table, each by its own Delta commit, as dbt runs its models; a failed
model fails the job and leaves the tables it had written at tonight (the one-machine path,
`databank.marts`, swaps in a whole build at once). Running the night again builds every table again.

The night's data tests do not run here but in the warehouse the `publish_warehouse` task makes over
these tables (`databank.gold_warehouse`), where each is a DuckDB query over the night's files instead
of a Spark job: on the demo's first night they cost 296 s of the job's node time here (307 tests, a
median of 0.64 s each: the scheduling of Spark jobs, not the data). A failed test fails that task, so the
warehouse stays at the last night that passed and no audience is synced from tonight's gold.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from pyspark.sql import SparkSession

from databank.config import Settings
from databank.dbt_project import dbt_work_dir, find_dbt_project, settings_vars
from databank.dbt_runner import (
    RUN_DATE_ENV,
    DbtRun,
    MartsBuildError,
    clear_results,
    dbt_arguments,
    failures,
    statuses,
)
from databank.gold_tables import MARTS_SCHEMA
from databank.warehouse import SCHEMA_FOLDERS, delta_tables_in

# New Delta tables of the session keep no column statistics: the personal-column rule of the local
# path (`databank.privacy.personal_columns`) is not known to dbt, and a file's min/max of a one_id in the
# transaction log would outlive the consumer's erasure.
NO_STATISTICS = {"spark.databricks.delta.properties.defaults.dataSkippingNumIndexedCols": "0"}


def declare_lakehouse(spark: SparkSession, lakehouse: Path) -> dict[str, list[str]]:
    """Each schema the build reads or writes, as a database at its lakehouse folder holding the Delta
    tables found there, in the session's catalog; returns the tables declared, by schema."""
    declared = {}
    for schema, folder in SCHEMA_FOLDERS.items():
        location = (lakehouse / folder).absolute()
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema} LOCATION '{location}'")
        declared[schema] = delta_tables_in(location)
        for name in declared[schema]:
            spark.sql(f"CREATE TABLE IF NOT EXISTS {schema}.{name} USING DELTA LOCATION '{location / name}'")
    return declared


def build_marts_on_spark(spark: SparkSession, settings: Settings, run_date: date) -> dict:
    """`dbt run` of the night on the Spark target, in this process's session; returns the night's
    run date, dbt's node statuses and the gold tables. Raises MartsBuildError naming dbt's failing nodes.

    The first build (no mart in gold yet) is a full one, as on the local target; later ones build the
    night incrementally."""
    declared = declare_lakehouse(spark, Path(settings.lakehouse))
    for key, value in NO_STATISTICS.items():
        spark.conf.set(key, value)
    run = DbtRun(
        project_dir=find_dbt_project(),
        warehouse=None,
        run_date=run_date,
        full_refresh=not declared[MARTS_SCHEMA],
        work_dir=dbt_work_dir(settings.reports) / "spark",
        resources=settings.marts_build,
        settings_vars=settings_vars(settings),
    )
    _invoke(run, ["--full-refresh"] * run.full_refresh)
    gold = sorted(row.tableName for row in spark.sql(f"SHOW TABLES IN {MARTS_SCHEMA}").collect())
    return {"run_date": run_date.isoformat(), "statuses": statuses(run.work_dir / "target"), "tables": gold}


def _invoke(run: DbtRun, options: list[str]) -> None:
    from dbt.cli.main import dbtRunner

    clear_results(run)
    with _environment({RUN_DATE_ENV: run.run_date.isoformat(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}):
        result = dbtRunner().invoke(dbt_arguments(run, "run", options, "spark"))
    failed = failures(run.work_dir / "target")
    if not result.success or failed:
        reason = f": {result.exception}" if result.exception else ""
        raise MartsBuildError(f"dbt run on Spark for {run.run_date} failed{reason}", failed)


@contextmanager
def _environment(values: dict[str, str]):
    """`values` in os.environ while dbt runs in this process (its profile and macros read them)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
