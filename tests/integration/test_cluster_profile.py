"""The cluster profile on a real Spark standalone cluster (a master and two workers on 127.0.0.1):
one generated day's ingest, standardise and identity, each submitted with spark-submit by the
nightly DAG's own operators, Delta written by delta-spark from the jars `make setup` fetched. What
it writes must be what the embedded profile writes from the same files, table by table.

One feed, CRM members (member ids and phones, which identity links), keeps it to three jobs: each is
a Spark application of its own, as on a cluster, and costs a driver JVM and its executors' start-up
(25-70 s each on 2 shared cores).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from datetime import date
from pathlib import Path

import duckdb
import pendulum
import pyarrow as pa
import pytest
from deltalake import DeltaTable, QueryBuilder

from databank import pipeline
from databank.config import load_settings
from databank.generator.generate import GenerateArgs, generate
from databank.lakehouse import EmbeddedLakehouse
from spark_jobs.ingest_feed import ingest
from spark_jobs.resolve_identity import resolve
from spark_jobs.standardise import standardise

pytestmark = pytest.mark.slow

DAY = date(2026, 5, 1)
# The run of 2026-05-01 (Asia/Shanghai) starts at 16:00 UTC the day before.
CONTEXT = {"data_interval_start": pendulum.datetime(2026, 4, 30, 16, tz="UTC")}
FEEDS = ("members",)
KEY = "cluster-profile-key"
# Written from the clock or a random batch id: they differ between any two runs of a day.
VOLATILE = {"ingest_batch_id", "ingested_at", "batch_id", "registered_at", "finished_at"}
CONN_ID = "databank_local_cluster"


@pytest.fixture(scope="module")
def landing(module_tmp) -> Path:
    out = module_tmp("cluster-landing")
    generate(GenerateArgs(out=out, consumers=1000, days=1, start=DAY, seed=19, bad_rate=0.03))
    return out


@pytest.fixture(scope="module")
def on_cluster(spark_cluster, landing, module_tmp):
    """The day run by the cluster DAG's spark-submit tasks; returns the lakehouse folder."""
    data = module_tmp("cluster-profile")
    driver = {
        # The driver holds identifiers: it listens on the loopback only, like the cluster's daemons.
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.executor.memory": "1g",
        "spark.sql.shuffle.partitions": "4",
        # A day's Delta log is a few files: replaying it in Delta's default 50 partitions costs more
        # than the data (delta-spark's own test suites lower these the same way).
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
    }
    environment = {
        "DATABANK_PROFILE": "cluster",
        "DATABANK_DATA_DIR": str(data),
        "DATABANK_LANDING_DIR": str(landing),
        "DATABANK_HMAC_KEY": KEY,
        "DATABANK_CLUSTER__SPARK_CONN_ID": CONN_ID,
        "DATABANK_CLUSTER__CONF": json.dumps(driver),
        f"AIRFLOW_CONN_{CONN_ID.upper()}": f"{spark_cluster.master_url}?deploy-mode=client",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        # spark-submit of the locked pyspark, as a worker with databank's environment finds it
        patch.setenv("PATH", str(Path(sys.executable).parent), prepend=":")
        pipeline.settings.cache_clear()
        try:
            dag = _cluster_dag()
            for step in ("ingest", "standardise"):
                for feed in FEEDS:
                    _submit(dag.get_task(f"{feed}.{step}"))
            _submit(dag.get_task("resolve_identity"))
        finally:
            pipeline.settings.cache_clear()
    return data / "lakehouse"


@pytest.fixture(scope="module")
def embedded(spark, landing, module_tmp) -> Path:
    """The same day run in-process on the embedded profile (delta-rs); returns the lakehouse folder."""
    settings = load_settings(data_dir=module_tmp("embedded-profile"), landing_dir=landing, hmac_key=KEY)
    lake = EmbeddedLakehouse(str(settings.lakehouse))
    for feed in FEEDS:
        ingest(spark, lake, settings, feed, DAY)
    for feed in FEEDS:
        standardise(spark, lake, settings, feed, DAY)
    resolve(spark, lake, settings, DAY)
    return settings.lakehouse


def _cluster_dag():
    spec = importlib.util.spec_from_file_location("databank_nightly_cluster_run", pipeline.DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.nightly


def _submit(task) -> None:
    """Run a SparkSubmitOperator of the DAG for the day, as a worker does once it rendered it."""
    task.application_args = [task.render_template(argument, CONTEXT) for argument in task.application_args]
    task.name = task.render_template(task.name, CONTEXT)
    task.execute(CONTEXT)


def _tables(lakehouse: Path) -> set[str]:
    return {
        f"{log.parent.parent.name}.{log.parent.name}"
        for log in lakehouse.glob("*/*/_delta_log")
        if log.parent.parent.name != "_staging"
    }


def _read(lakehouse: Path, table: str) -> pa.Table:
    """A Delta table's current version as delta-rs reads it (what dbt-duckdb and notebooks use)."""
    layer, name = table.split(".")
    return (
        QueryBuilder()
        .register("t", DeltaTable(str(lakehouse / layer / name)))
        .execute("SELECT * FROM t")
        .read_all()
    )


def _schema(table: pa.Table) -> dict[str, str]:
    return {field.name: str(field.type) for field in table.schema if field.name not in VOLATILE}


def _checksum(table: pa.Table) -> tuple[int, int | None]:
    """Rows and an order-free hash of every row's values (the volatile columns aside)."""
    columns = [name for name in table.column_names if name not in VOLATILE]
    values = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in columns)
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.register("t", table)
        return con.execute(f"SELECT count(*), sum(hash([{values}])) FROM t").fetchone()


def test_the_cluster_writes_the_tables_the_embedded_profile_writes(on_cluster, embedded):
    expected = {f"bronze.{f}" for f in FEEDS} | {"silver.identity_map", "silver.identifiers"}

    assert _tables(on_cluster) == _tables(embedded)
    assert expected <= _tables(on_cluster)


def test_every_table_holds_the_same_rows_on_both_profiles(on_cluster, embedded):
    differ = {}
    for table in sorted(_tables(embedded)):
        cluster, local = _read(on_cluster, table), _read(embedded, table)
        if _schema(cluster) != _schema(local) or _checksum(cluster) != _checksum(local):
            differ[table] = {
                "schema": {
                    k: (_schema(cluster).get(k), _schema(local).get(k))
                    for k in _schema(cluster).keys() | _schema(local).keys()
                    if _schema(cluster).get(k) != _schema(local).get(k)
                },
                "rows": (cluster.num_rows, local.num_rows),
            }
    assert not differ


def test_the_day_is_not_empty(embedded):
    assert _read(embedded, "silver.identity_map").num_rows > 0
    for feed in FEEDS:
        assert _read(embedded, f"bronze.{feed}").num_rows > 0, feed


def test_the_dags_quality_gates_pass_on_what_the_cluster_wrote(on_cluster, tmp_path):
    """The gates between the submitted jobs run in the Airflow worker and read Delta with delta-rs."""
    from databank.quality.gates import check_bronze, check_silver

    # The gates record their results in the lakehouse: on a copy, so the comparisons above see the
    # tables of the jobs alone.
    lakehouse = shutil.copytree(on_cluster, tmp_path / "lakehouse")
    settings = load_settings(data_dir=tmp_path, lakehouse_dir=lakehouse, hmac_key=KEY)

    for feed in FEEDS:
        assert not check_bronze(settings, feed, DAY).failed_critical
        assert not check_silver(settings, feed, DAY).failed_critical
