"""Starting the local Spark cluster waits out a master whose UI is not serving its state yet."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from databank.config import load_settings
from databank.local_cluster import ClusterStartError, LocalCluster, _wait_for_workers


class _StartingCluster(LocalCluster):
    """A master whose UI first refuses connections, then serves its HTML page at /json/ (as Spark's
    did once in CI, before its JSON handler was up), then its state."""

    def __init__(self, answers: list) -> None:
        super().__init__("spark://127.0.0.1:7077", "http://127.0.0.1:8080", Path("."))
        self.answers = answers

    def alive_workers(self) -> int:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_waiting_for_workers_outlasts_a_ui_that_is_not_up_or_not_json_yet():
    not_json = json.JSONDecodeError("Expecting value", "<!DOCTYPE html>", 0)
    cluster = _StartingCluster([ConnectionRefusedError(), not_json, 1, 2])

    _wait_for_workers(cluster, workers=2, timeout=30)

    assert cluster.answers == []


def test_waiting_for_workers_gives_up_when_they_never_register():
    cluster = _StartingCluster([1] * 100)

    with pytest.raises(ClusterStartError, match="2 workers did not register"):
        _wait_for_workers(cluster, workers=2, timeout=1)


def test_the_cluster_profile_it_gives_submits_here_with_a_driver_on_the_loopback(monkeypatch):
    cluster = LocalCluster("spark://127.0.0.1:40123", "http://127.0.0.1:8080", Path("."))
    for name, value in cluster.profile_environment("local_spark").items():
        monkeypatch.setenv(name, value)

    settings = load_settings()

    assert settings.profile == "cluster"
    assert settings.cluster.spark_conn_id == "local_spark"
    assert os.environ["AIRFLOW_CONN_LOCAL_SPARK"] == "spark://127.0.0.1:40123?deploy-mode=client"
    conf = settings.cluster.conf
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "127.0.0.1"
