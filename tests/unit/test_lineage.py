"""Lineage: every task of the nightly DAG that moves data declares what it reads and writes, so the
OpenLineage events trace a delivered file to the marts; `[lineage]` says where the events go."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from databank import lineage, pipeline
from databank.config import load_settings
from databank.contracts import load_contract
from databank.dbt_project import find_dbt_project
from databank.lineage_settings import EVENTS_FILE, LineageSettings, airflow_environment


def _parsed_dag(module_name: str):
    pipeline.settings.cache_clear()
    spec = importlib.util.spec_from_file_location(module_name, pipeline.DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.nightly


@pytest.fixture(scope="module")
def nightly():
    yield _parsed_dag("databank_nightly_lineage")
    pipeline.settings.cache_clear()


@pytest.fixture
def cluster_nightly(monkeypatch):
    monkeypatch.setenv("DATABANK_PROFILE", "cluster")
    yield _parsed_dag("databank_nightly_lineage_on_cluster")
    pipeline.settings.cache_clear()


def _flows(dag) -> dict[str, set[str]]:
    """Asset name -> the asset names a task writes from it."""
    flows: dict[str, set[str]] = {}
    for task in dag.tasks:
        for inlet in task.inlets:
            flows.setdefault(inlet.name, set()).update(outlet.name for outlet in task.outlets)
    return flows


def _reachable(flows: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for following in flows.get(todo.pop(), set()) - seen:
            seen.add(following)
            todo.append(following)
    return seen


def _names(assets: Iterable) -> set[str]:
    return {asset.name for asset in assets}


def test_every_feed_is_traced_from_its_landing_folder_to_silver_and_the_marts_it_feeds(nightly):
    flows = _flows(nightly)
    read_by_the_marts = set(lineage.silver_sources(find_dbt_project()))

    for feed in load_settings().pipeline.feeds:
        downstream = _reachable(flows, f"databank.landing.{feed}")
        assert {f"databank.bronze.{feed}", f"databank.quarantine.{feed}", f"databank.silver.{feed}"} <= (
            downstream
        ), feed
        if feed in read_by_the_marts:
            assert "databank.gold.aipl_daily_funnel" in downstream, feed
        if load_contract(feed).identifier_columns:  # its identifiers reach OneID's map
            assert "databank.silver.identity_map" in downstream, feed


def test_the_marts_read_the_silver_tables_the_dbt_project_declares_and_write_every_gold_table(nightly):
    marts = nightly.get_task("build_and_publish_marts")

    assert _names(marts.inlets) == {
        f"databank.silver.{t}" for t in lineage.silver_sources(find_dbt_project())
    }
    assert {"databank.silver.online_orders", "databank.silver.identity_map"} <= _names(marts.inlets)
    assert _names(marts.outlets) == {f"databank.gold.{table}" for table in pipeline.gold_tables()}
    assert all(asset.uri.startswith("file:///") for asset in [*marts.inlets, *marts.outlets])


def test_the_names_of_identity_tables_are_those_the_spark_jobs_write():
    from spark_jobs.resolve_identity import EDGES, GUARDS, HISTORY, MAP, PAIRS
    from spark_jobs.standardise import IDENTIFIERS_TABLE

    assert lineage.IDENTITY_TABLES == (EDGES, PAIRS, GUARDS, MAP, HISTORY)
    assert lineage.IDENTIFIERS_TABLE == IDENTIFIERS_TABLE


def test_the_cluster_profiles_tasks_carry_the_same_lineage(nightly, cluster_nightly):
    """A job submitted for one step (identity) carries its lineage; a feed's ingest and standardise run
    in applications shared by every feed, and the feed's own task, which reports its outcome there,
    carries the feed's."""
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    assert isinstance(cluster_nightly.get_task("resolve_identity"), SparkSubmitOperator)
    for task_id in ("online_orders.ingest", "online_orders.standardise", "resolve_identity"):
        embedded, on_cluster = nightly.get_task(task_id), cluster_nightly.get_task(task_id)
        assert _names(on_cluster.inlets) == _names(embedded.inlets) != set(), task_id
        assert _names(on_cluster.outlets) == _names(embedded.outlets) != set(), task_id


def test_by_default_the_events_are_appended_to_a_file_under_the_reports(tmp_path):
    environment = airflow_environment(LineageSettings(), tmp_path / "reports")
    transport = json.loads(environment["AIRFLOW__OPENLINEAGE__TRANSPORT"])

    assert transport == {
        "type": "file",
        "log_file_path": str(tmp_path / "reports" / EVENTS_FILE),
        "append": True,
    }
    assert Path(transport["log_file_path"]).parent.is_dir()
    assert environment["AIRFLOW__OPENLINEAGE__DISABLED"] == "False"
    assert environment["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "databank"
    assert environment["AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD"] == "True"  # never a fork of Spark's driver


def test_an_endpoint_in_the_settings_receives_the_events_over_http(tmp_path):
    settings = LineageSettings(url="http://lineage.internal:5000", namespace="brand-group")
    environment = airflow_environment(settings, tmp_path)

    assert json.loads(environment["AIRFLOW__OPENLINEAGE__TRANSPORT"]) == {
        "type": "http",
        "url": "http://lineage.internal:5000",
        "endpoint": "api/v1/lineage",
    }
    assert environment["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "brand-group"
    assert not (tmp_path / EVENTS_FILE).parent.exists()


def test_lineage_can_be_switched_off(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABANK_LINEAGE__ENABLED", "false")

    assert airflow_environment(load_settings().lineage, tmp_path) == {
        "AIRFLOW__OPENLINEAGE__DISABLED": "True"
    }
