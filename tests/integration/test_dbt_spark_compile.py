"""The dbt project compiles for the Spark target, and Spark's analyzer accepts every model's SQL.

dbt-spark's `session` method runs inside this process: its connection calls
`SparkSession.builder.getOrCreate()`, which returns the suite's session. The silver sources become
empty Parquet tables with silver's schemas (Delta needs jars this machine cannot fetch; an empty
table of the same columns is all compiling and analysing need). Compiling alone only renders Jinja,
so each compiled model is then created in Spark as a view, in dependency order, which makes Spark
parse and resolve it: DuckDB-only syntax fails there. Incremental models are then created as empty
tables and compiled again, so their `is_incremental()` branch is rendered and analysed too.

Not covered: hooks (pre-hooks that UPDATE or DELETE need Delta tables) and unit tests (they run on
DuckDB).
"""

from __future__ import annotations

from datetime import timedelta
from graphlib import TopologicalSorter
from pathlib import Path

import pytest
from dbt.cli.main import dbtRunner
from delta_reading import DAYS, START

from databank.warehouse import SILVER_TABLES

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
BUILT_IN_TESTS = {"unique", "not_null", "accepted_values", "relationships"}
SCHEMAS = ("silver", "staging", "intermediate", "marts", "gold")


@pytest.fixture
def spark_catalog(spark, resolved, tmp_path):
    """Databases of the project in Spark's catalog, silver's tables empty; dropped afterwards."""
    _, lake, _ = resolved
    for schema in SCHEMAS:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema} LOCATION '{tmp_path / schema}'")
    for name in SILVER_TABLES:
        frame = lake.read(spark, "silver", name)
        if frame is not None:
            empty_table(spark, spark.createDataFrame([], frame.schema), f"silver.{name}", tmp_path)
    yield spark
    for schema in SCHEMAS:
        spark.sql(f"DROP DATABASE IF EXISTS {schema} CASCADE")


def test_every_model_compiles_for_spark_and_spark_accepts_its_sql(spark_catalog, tmp_path):
    spark = spark_catalog

    # WHEN the whole project is compiled for the Spark target (incremental models not built yet)
    compiled = compile_for_spark(tmp_path / "first")
    models = {uid: node for uid, node in compiled.items() if node["resource_type"] == "model"}

    # THEN every model compiled
    assert models, "no model compiled"
    assert not [uid for uid, node in models.items() if not node.get("compiled_code")]

    # AND Spark resolves every model, the incremental branch of incremental models, and our own tests
    failures = analyse_models(spark, models, tmp_path)
    failures |= analyse_tests(spark, compiled)
    incremental = [uid for uid, node in models.items() if node["config"]["materialized"] == "incremental"]
    if incremental:
        again = compile_for_spark(tmp_path / "incremental", select="config.materialized:incremental")
        for uid in incremental:
            if uid not in failures:
                error = analyse(spark, again[uid]["compiled_code"])
                if error:
                    failures[uid] = f"is_incremental() branch: {error}"
    assert not failures, "Spark rejects:\n" + "\n".join(f"{uid}: {e}" for uid, e in sorted(failures.items()))
    # AND every table the cluster writes is Delta (the merge strategy of incremental models needs it)
    not_delta = [
        uid
        for uid, node in models.items()
        if node["config"]["materialized"] in ("table", "incremental")
        and node["config"].get("file_format") != "delta"
    ]
    assert not not_delta, f"tables not written as Delta on Spark: {not_delta}"


def compile_for_spark(work: Path, select: str | None = None) -> dict[str, dict]:
    """`dbt compile --target spark` in this process; the compiled nodes by id."""
    arguments = [
        "compile",
        "--target",
        "spark",
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROJECT),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        f"{{run_date: '{START + timedelta(days=DAYS - 1)}'}}",
        # Unit tests read the columns of their inputs from the database: they run on DuckDB.
        "--exclude",
        "resource_type:unit_test",
    ]
    result = dbtRunner().invoke([*arguments, *(["--select", select] if select else [])])
    failed = [f"{r.node.unique_id}: {r.message}" for r in (result.result or []) if r.status != "success"]
    assert result.success, f"dbt compile failed: {result.exception or failed}"
    return {r.node.unique_id: r.node.to_dict() for r in result.result}


def analyse_models(spark, models: dict[str, dict], tmp_path: Path) -> dict[str, str]:
    """Create every model in Spark as an empty table, parents first; the models Spark rejects."""
    order = TopologicalSorter(
        {uid: [d for d in node["depends_on"]["nodes"] if d in models] for uid, node in models.items()}
    ).static_order()
    failures: dict[str, str] = {}
    for uid in order:
        node = models[uid]
        if node["config"]["materialized"] == "ephemeral":
            continue  # inlined into its dependents
        broken = [d for d in node["depends_on"]["nodes"] if d in failures]
        if broken:
            failures[uid] = f"not analysed: depends on {', '.join(broken)}"
            continue
        relation = f"{node['schema']}.{node['alias']}"
        # An empty table rather than a view: a view's dependents would analyse its whole tree again.
        error = analyse(
            spark,
            node["compiled_code"],
            lambda frame, r=relation: empty_table(spark, frame.limit(0), r, tmp_path),
        )
        if error:
            failures[uid] = error
    return failures


def analyse_tests(spark, compiled: dict[str, dict]) -> dict[str, str]:
    """The project's own tests Spark rejects: singular ones and those of its generic tests (dbt's
    built-in generic tests have Spark versions already)."""
    failures = {}
    for uid, node in compiled.items():
        generic = (node.get("test_metadata") or {}).get("name")
        if node["resource_type"] == "test" and generic not in BUILT_IN_TESTS:
            error = analyse(spark, node["compiled_code"])
            if error:
                failures[uid] = error
    return failures


def analyse(spark, sql: str, then=None) -> str | None:
    """None when Spark parses and resolves `sql` (then `then(frame)` runs), else its error's first line."""
    try:
        frame = spark.sql(sql)
        if then:
            then(frame)
    except Exception as error:  # AnalysisException, ParseException: either means Spark rejects it
        return str(error).strip().splitlines()[0][:300]
    return None


def empty_table(spark, frame, relation: str, tmp_path: Path) -> None:
    path = tmp_path / "tables" / relation
    frame.write.format("parquet").option("path", str(path)).mode("overwrite").saveAsTable(relation)
