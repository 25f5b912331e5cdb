"""The SparkSession of each profile.

embedded: Spark in-process on local cores, no jars to download; Delta is read and written through
delta-rs (`databank.lakehouse`). cluster: the master and resources come from spark-submit or the
platform; delta-spark's jars are the local ones `make setup` fetched (`spark.jars`), not resolved
through Ivy when a job starts.
"""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

from databank.config import Settings
from databank.spark_conf import JIT_COMPILES_HUGE_METHODS, SPARK_SQL_CONF

EMBEDDED_CONF = {
    # The driver holds a night's identifiers: nothing but this machine may reach it.
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.memory": "4g",
    # A night's session outlives its Spark work: the marts build then runs beside it in DuckDB. A
    # collection every few idle seconds gives the heap back to the machine (Java 17's G1 keeps what it
    # grew to until it collects): 2.2 GB held after a medium night's ingest, 0.6 GB given back.
    "spark.driver.extraJavaOptions": f"-XX:G1PeriodicGCInterval=5000 {JIT_COMPILES_HUGE_METHODS}",
    **SPARK_SQL_CONF,
}


def build_session(settings: Settings, app_name: str = "databank") -> SparkSession:
    """The session for the configured profile (an existing one is reused)."""
    if settings.profile == "cluster":
        return _cluster_session(settings, app_name)
    # Spark's Python workers must run this interpreter, which has pyarrow and pandas.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(settings.spark_master).appName(app_name)
    for key, value in EMBEDDED_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _cluster_session(settings: Settings, app_name: str) -> SparkSession:
    # Spark makes its catalog's default database folder where it is told, else in the working
    # directory of whoever submitted the job: under the data folder, beside what it describes.
    warehouse = (settings.data_dir / "spark-warehouse").absolute()
    builder = SparkSession.builder.appName(app_name).config("spark.sql.warehouse.dir", str(warehouse))
    for key, value in settings.cluster.spark_conf().items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
