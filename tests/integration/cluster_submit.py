"""Running the nightly DAG's spark-submit tasks against the test cluster (`spark_cluster`), as an
Airflow worker of the cluster profile does once it rendered them."""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pendulum
import pytest
from template_context import TaskInstanceStub

from databank import pipeline

CONN_ID = "databank_local_cluster"


@contextmanager
def cluster_profile(spark_cluster, data: Path, landing: Path, key: str) -> Iterator:
    """The cluster profile's environment, on `data`, and the nightly DAG parsed under it."""
    environment = {
        **spark_cluster.profile_environment(CONN_ID),
        "DATABANK_DATA_DIR": str(data),
        "DATABANK_LANDING_DIR": str(landing),
        "DATABANK_HMAC_KEY": key,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
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


def submit(task, day: date, timezone: str = "Asia/Shanghai", xcoms: dict[str, object] | None = None) -> None:
    """Run a SparkSubmitOperator of the DAG for the business day `day` of `timezone`, its upstream
    tasks having left `xcoms` (by task id); the task keeps its templates, so it can run another day
    after."""
    start = pendulum.instance(datetime.combine(day, time(), ZoneInfo(timezone))).in_timezone("UTC")
    context = {"data_interval_start": start, "ti": TaskInstanceStub(xcoms or {})}
    rendered = copy.copy(task)
    rendered.application_args = [
        task.render_template(argument, context) for argument in task.application_args
    ]
    rendered.name = task.render_template(task.name, context)
    rendered.execute(context)
