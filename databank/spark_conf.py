"""Spark's configuration on both profiles: the SQL semantics the transforms are written for, Delta's
settings on the cluster profile, delta-spark's pinned jars, and the cluster settings that combine them."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, Field

from databank.resources import cluster_jars_folder, cluster_jars_pom

# The SQL semantics the transforms are written for, on both profiles. They expect a value that does
# not cast or parse to become null and be judged by the contract; under ANSI mode (Spark 4's default)
# ingest quarantined every record of a day as `unknown_enum` instead.
SPARK_SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    # PySpark 4 records the Python call site of every DataFrame function it is given (a stack walk, a
    # configuration read and a JVM call each), for error messages: that was 40% of the time a night's
    # ingest spent building its plans. An error still names the failing expression.
    "spark.python.sql.dataFrameDebugging.enabled": "false",
}
# The JVM does not compile a method of more than 8,000 bytes of bytecode, and Spark generates one
# per stage of whole-stage code: a feed's typing and checks (some 60 rules over a record) make one
# that large, which then ran interpreted. A medium-tier night's pings: 8.0 s checked, 3.6 s with it.
JIT_COMPILES_HUGE_METHODS = "-XX:-DontCompileHugeMethods"
# Spark's Delta support on the cluster profile (delta-spark's own settings), in every session and job.
DELTA_SPARK_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}
# The one place delta-spark's coordinate is written; `make setup` copies its jars into JARS_DIR.
JARS_POM = cluster_jars_pom()
JARS_DIR = cluster_jars_folder()


def _delta_spark_package() -> str:
    """The Maven coordinate of delta-spark that the lock implies: its artifact names the Spark
    major.minor and Scala version it is built for, its version is the pip delta-spark's."""
    spark = ".".join(metadata.version("pyspark").split(".")[:2])
    return f"io.delta:delta-spark_{spark}_2.13:{metadata.version('delta-spark')}"


class MissingJarsError(RuntimeError):
    """The cluster profile needs delta-spark's jars, and they are not where the settings say."""


class ClusterSettings(BaseModel):
    """The cluster profile: the nightly DAG submits its Spark jobs with spark-submit.

    The master, deploy mode and resources are the Airflow connection's (`spark_conn_id`); the cluster's
    Python environment has databank installed from the same lock file.
    """

    spark_conn_id: str = Field("spark_default", description="Airflow connection of the Spark cluster.")
    jars_dir: Path | None = Field(
        JARS_DIR,
        description=(
            "delta-spark's jars (`make setup` fetches what jars/pom.xml pins), put on spark.jars of every "
            "session and submitted job; none: the platform's Spark already has Delta."
        ),
    )
    conf: dict[str, str] = Field(
        default_factory=dict, description="Further Spark configuration of every submitted job."
    )

    def jars(self) -> list[Path]:
        """The jar files to put on spark.jars (none when the platform provides Delta)."""
        if self.jars_dir is None:
            return []
        jars = sorted(self.jars_dir.expanduser().absolute().glob("*.jar"))
        if not any(jar.name.startswith("delta-spark_") for jar in jars):
            raise MissingJarsError(
                f"no delta-spark jar in {self.jars_dir}: `make setup` fetches {_delta_spark_package()} "
                f"and what it needs beyond Spark ({JARS_POM})"
            )
        return jars

    def spark_conf(self) -> dict[str, str]:
        """Every Spark setting of a cluster session or submitted job: SQL semantics, Delta's, its jars,
        then `conf`."""
        jars = {"spark.jars": ",".join(str(jar) for jar in self.jars())} if self.jars_dir else {}
        executors = {"spark.executor.extraJavaOptions": JIT_COMPILES_HUGE_METHODS}
        return {**SPARK_SQL_CONF, **DELTA_SPARK_CONF, **executors, **jars, **self.conf}
