"""Running the nightly DAG's spark-submit tasks against the test cluster (`spark_cluster`), as an
Airflow worker of the cluster profile does once it rendered them."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pendulum
import pytest

from databank import pipeline

CONN_ID = "databank_local_cluster"
DRIVER_CONF = {
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


@contextmanager
def cluster_profile(spark_cluster, data: Path, landing: Path, key: str) -> Iterator:
    """The cluster profile's environment, on `data`, and the nightly DAG parsed under it."""
    environment = {
        "DATABANK_PROFILE": "cluster",
        "DATABANK_DATA_DIR": str(data),
        "DATABANK_LANDING_DIR": str(landing),
        "DATABANK_HMAC_KEY": key,
        "DATABANK_CLUSTER__SPARK_CONN_ID": CONN_ID,
        "DATABANK_CLUSTER__CONF": json.dumps(DRIVER_CONF),
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
            yield _cluster_dag()
        finally:
            pipeline.settings.cache_clear()


def _cluster_dag():
    spec = importlib.util.spec_from_file_location("databank_nightly_cluster_run", pipeline.DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.nightly


def submit(task, day: date, timezone: str = "Asia/Shanghai") -> None:
    """Run a SparkSubmitOperator of the DAG for the business day `day` of `timezone`; the task keeps
    its templates, so it can run another day after."""
    start = pendulum.instance(datetime.combine(day, time(), ZoneInfo(timezone))).in_timezone("UTC")
    context = {"data_interval_start": start}
    rendered = copy.copy(task)
    rendered.application_args = [
        task.render_template(argument, context) for argument in task.application_args
    ]
    rendered.name = task.render_template(task.name, context)
    rendered.execute(context)
