"""A Spark standalone cluster on this machine, for the cluster profile: one master and two workers
from the locked pyspark, all on 127.0.0.1 (`make cluster`, and the tests that submit jobs to it).

Each daemon runs in its own process group, so stopping the group also stops the executors a worker
started. Ports are whatever is free; logs and work folders go under the folder given.

    python -m databank.local_cluster [--folder DIR] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

from databank.process_groups import stop_groups

SPARK_HOME = Path(pyspark.__file__).parent
LOOPBACK = "127.0.0.1"
# What the cluster profile tells the jobs it submits here: the driver holds identifiers, so it listens
# on the loopback only, like the daemons; Spark and Delta sized for a few cores and days of data.
JOB_CONF = {
    "spark.driver.host": LOOPBACK,
    "spark.driver.bindAddress": LOOPBACK,
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.executor.memory": "1g",
    "spark.sql.shuffle.partitions": "4",
    # A day's Delta log is a few files: replaying it in Delta's default 50 partitions costs more
    # than the data (delta-spark's own test suites lower these the same way).
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
}


class ClusterStartError(RuntimeError):
    """A daemon exited or the workers did not register in time."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@dataclass
class LocalCluster:
    """A running master and its workers; `stop()` ends every process group they lead."""

    master_url: str
    ui_url: str
    folder: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def profile_environment(self, conn_id: str = "spark_default") -> dict[str, str]:
        """The environment under which databank's cluster profile submits its jobs here, through the
        Airflow connection `conn_id`."""
        python = Path(sys.executable)
        return {
            "DATABANK_PROFILE": "cluster",
            "DATABANK_CLUSTER__SPARK_CONN_ID": conn_id,
            "DATABANK_CLUSTER__CONF": json.dumps(JOB_CONF),
            f"AIRFLOW_CONN_{conn_id.upper()}": f"{self.master_url}?deploy-mode=client",
            "SPARK_LOCAL_IP": LOOPBACK,
            # spark-submit of the locked pyspark, and its Python for the jobs and their executors
            "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYSPARK_PYTHON": str(python),
        }

    def alive_workers(self) -> int:
        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=5) as response:
            state = json.load(response)
        return sum(worker["state"] == "ALIVE" for worker in state["workers"])

    def stop(self, grace_seconds: float = 15) -> None:
        # Workers first, so they do not spend the grace period trying to reach a stopped master.
        stop_groups(list(reversed(self.processes)), grace_seconds)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *_) -> None:
        self.stop()


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        # Web UIs bind to SPARK_LOCAL_IP, else to every interface.
        "SPARK_LOCAL_IP": LOOPBACK,
        "SPARK_DAEMON_MEMORY": "512m",
    }


def start(
    folder: Path, workers: int = 2, cores: int = 1, memory: str = "1536m", timeout: float = 90
) -> LocalCluster:
    """Start a master and `workers` workers of `cores` cores and `memory` each; wait until all registered."""
    folder.mkdir(parents=True, exist_ok=True)
    properties = folder / "spark-daemons.conf"
    # The standalone REST submission server would be one more listener nobody here uses.
    properties.write_text("spark.master.rest.enabled false\nspark.ui.killEnabled false\n")
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port, ui_port = free_port(), free_port()
    cluster = LocalCluster(f"spark://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{ui_port}", folder)

    def launch(name: str, *arguments: str) -> None:
        with (folder / f"{name}.log").open("ab") as log:
            cluster.processes.append(
                subprocess.Popen(
                    [spark_class, *arguments, "--properties-file", str(properties)],
                    env=_environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    try:
        launch(
            "master",
            "org.apache.spark.deploy.master.Master",
            *("--host", LOOPBACK, "--port", str(port), "--webui-port", str(ui_port)),
        )
        for number in range(1, workers + 1):
            work = folder / f"worker-{number}"
            work.mkdir(exist_ok=True)
            launch(
                f"worker-{number}",
                "org.apache.spark.deploy.worker.Worker",
                *("--host", LOOPBACK, "--port", str(free_port()), "--webui-port", str(free_port())),
                *("--cores", str(cores), "--memory", memory, "--work-dir", str(work)),
                cluster.master_url,
            )
        _wait_for_workers(cluster, workers, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_for_workers(cluster: LocalCluster, workers: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exited = [p.args[1] for p in cluster.processes if p.poll() is not None]
        if exited:
            raise ClusterStartError(f"{', '.join(exited)} exited; see the logs in {cluster.folder}")
        try:
            if cluster.alive_workers() == workers:
                return
        except (OSError, ValueError):
            pass  # the master's UI is not up yet, or serves its page before its JSON
        time.sleep(0.5)
    raise ClusterStartError(
        f"{workers} workers did not register with {cluster.master_url} within {timeout:.0f} s; "
        f"see the logs in {cluster.folder}"
    )


def main(argv: list[str] | None = None) -> None:
    from databank.config import load_settings

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folder", type=Path, help="logs and work folders; default <data_dir>/cluster")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    folder = (args.folder or load_settings().data_dir / "cluster").absolute()
    with start(folder, workers=args.workers) as cluster:
        print(f"Spark master {cluster.master_url} with {args.workers} workers; UI {cluster.ui_url}")
        print(f"Logs and work folders: {folder}")
        print("Run databank's cluster profile against it with this environment:")
        for name, value in cluster.profile_environment().items():
            print(f"  export {name}={shlex.quote(value)}")
        print("Ctrl-C stops it.")
        try:
            while all(p.poll() is None for p in cluster.processes):
                time.sleep(1)
            print("A daemon of the cluster exited; stopping the others.")
        except KeyboardInterrupt:
            print("Stopping the cluster.")


if __name__ == "__main__":
    main()
