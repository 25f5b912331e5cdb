"""The nightly DAG: parses cleanly and cheaply, wires every configured feed, and keys on the business day."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from graphlib import TopologicalSorter
from pathlib import Path
from zoneinfo import ZoneInfo

import pendulum
import pytest
from pydantic import ValidationError
from template_context import TaskInstanceStub

from databank import pipeline
from databank.config import PipelineSettings, load_settings

HEAVY_MODULES = ("pyspark", "duckdb", "deltalake", "dbt", "pyarrow", "pandas", "databank.marts", "spark_jobs")


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    """The DAG folder as Airflow's DAG processor parses it, with Airflow's home in a scratch folder,
    for an installation that set its first business day."""
    # Not module_tmp: Airflow keeps the home it was imported with for the rest of the session.
    home = tmp_path_factory.mktemp("airflow-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW_HOME", str(home))  # no effect if Airflow was imported already: fine for parsing
    patch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    patch.setenv("DATABANK_PIPELINE__START_DATE", "2026-05-01")
    pipeline.settings.cache_clear()
    from airflow.dag_processing.dagbag import DagBag

    yield DagBag(dag_folder=str(pipeline.DAG_FILE.parent))
    patch.undo()
    pipeline.settings.cache_clear()


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags[pipeline.DAG_ID]


@pytest.fixture(scope="module")
def nightly_module(dagbag):
    """The DAG file's module, for its constants (assets, retry policy)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("databank_nightly_under_test", pipeline.DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert list(dagbag.dags) == [pipeline.DAG_ID]


def test_parsing_is_cheap_and_imports_nothing_heavy(tmp_path):
    # The first business day follows the data: parsing lists the landing, here a year of every feed.
    first = date(2025, 5, 1)
    for feed in load_settings().pipeline.feeds:
        for n in range(365):
            _land(tmp_path / "landing", feed, first + timedelta(days=n))
    # A fresh interpreter, as the DAG processor's: Airflow's own import is timed apart from the file's.
    probe = f"""
import json, sys, time, runpy
import airflow.sdk, airflow.providers.standard.decorators.sensor
started = time.perf_counter()
nightly = runpy.run_path({str(pipeline.DAG_FILE)!r})["nightly"]
print(json.dumps({{"seconds": time.perf_counter() - started, "first": str(nightly.start_date),
                   "heavy": [m for m in {HEAVY_MODULES!r} if m in sys.modules]}}))
"""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATABANK_")},
        "DATABANK_LANDING_DIR": str(tmp_path / "landing"),
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])

    assert figures["heavy"] == []
    assert figures["seconds"] < 2.0  # about 0.1 s here; the DAG processor allows 30 s per file
    assert figures["first"] == "2025-05-01 16:00:00+00:00"  # the local midnight ending the first day


def test_no_cycles_and_the_night_runs_feeds_then_erasure_then_identity_then_marts_then_upkeep(dag):
    dag.check_cycle()
    graph = {task.task_id: set(task.upstream_task_ids) for task in dag.tasks}
    order = list(TopologicalSorter(graph).static_order())
    feeds = load_settings().pipeline.feeds

    assert {t.split(".")[0] for t in graph if "." in t} == set(feeds)
    for feed in feeds:
        assert graph[f"{feed}.wait_for_landing"] == set()
        assert graph[f"{feed}.ingest"] == {f"{feed}.wait_for_landing", "ingest_feeds"}
        assert graph[f"{feed}.check_bronze"] == {f"{feed}.ingest"}
        assert graph[f"{feed}.standardise"] == {f"{feed}.check_bronze", "standardise_feeds"}
        assert graph[f"{feed}.check_silver"] == {f"{feed}.standardise"}
    # Erasure before OneID: the night is built without the people erased in it.
    assert graph["apply_erasure_requests"] == {f"{feed}.check_silver" for feed in feeds}
    assert graph["resolve_identity"] == {"apply_erasure_requests"}
    assert graph["build_and_publish_marts"] == {"resolve_identity"}
    assert graph["publish_quality_report"] == {"build_and_publish_marts"}
    assert graph["keep_lakehouse"] == {"publish_quality_report"}
    assert order[-5:] == [
        "apply_erasure_requests",
        "resolve_identity",
        "build_and_publish_marts",
        "publish_quality_report",
        "keep_lakehouse",
    ]
    # The report shows a failed night too, and neither it nor the upkeep makes it a successful one
    # or fails a published one.
    assert dag.get_task("publish_quality_report").is_teardown
    assert dag.get_task("keep_lakehouse").is_teardown


def test_every_task_has_owner_retries_backoff_and_a_timeout(dag):
    config = load_settings().pipeline
    for task in dag.tasks:
        assert task.owner == config.owner, task.task_id
        assert task.retries == config.retries, task.task_id
        assert task.retry_exponential_backoff == 2.0, task.task_id
        assert task.max_retry_delay == timedelta(minutes=config.max_retry_delay_minutes), task.task_id
        assert task.retry_policy is not None, task.task_id
        assert task.execution_timeout is not None, task.task_id
    marts = dag.get_task("build_and_publish_marts")
    assert marts.execution_timeout == timedelta(minutes=config.marts_timeout_minutes)


def test_a_failure_no_retry_can_fix_fails_at_once(nightly_module):
    policy = nightly_module.RETRY_POLICY

    assert policy.evaluate(pipeline.NotRetryableError("dbt test failed"), 1, 3).action.value == "fail"
    assert policy.evaluate(OSError("disk hiccup"), 1, 3).action.value != "fail"


def test_schedule_is_daily_at_local_midnight_with_catchup_and_one_run_at_a_time(dag):
    timetable = dag.timetable

    assert type(timetable).__name__ == "CronTriggerTimetable"
    assert timetable.expression == "0 0 * * *"
    assert str(timetable.timezone) == load_settings().business_timezone == "Asia/Shanghai"
    assert dag.catchup is True
    assert dag.max_active_runs == 1
    assert (dag.doc_md or "").strip().startswith("# databank_nightly")
    assert "nightly" in dag.tags


def test_a_run_covers_the_business_day_that_ends_at_its_trigger(dag):
    from airflow.serialization.encoders import coerce_to_core_timetable

    shanghai = ZoneInfo("Asia/Shanghai")
    trigger = datetime(2026, 5, 2, tzinfo=shanghai)
    interval = coerce_to_core_timetable(dag.timetable).infer_manual_data_interval(run_after=trigger)

    assert interval.end - interval.start == timedelta(days=1)
    assert pipeline.business_day(interval.start) == date(2026, 5, 1)
    # The interval starts at 16:00 UTC the day before: the day is read in the business time zone.
    assert interval.start.astimezone(UTC).date() == date(2026, 4, 30)


def _land(landing: Path, feed: str, day: date) -> None:
    folder = landing / feed / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{feed}.csv").write_text("")  # an empty file is a delivery: of nothing


@pytest.fixture
def parse_dag(monkeypatch, tmp_path):
    """Parses the DAG file as a process with a landing root in tmp_path and `environment` would."""

    def parse(**environment: str):
        import importlib.util

        for name in [n for n in os.environ if n.startswith("DATABANK_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("DATABANK_LANDING_DIR", str(tmp_path / "landing"))
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        pipeline.settings.cache_clear()
        spec = importlib.util.spec_from_file_location("databank_nightly_parsed", pipeline.DAG_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.nightly

    yield parse
    pipeline.settings.cache_clear()


def _first_day(dag) -> date:
    assert dag.start_date.astimezone(ZoneInfo("Asia/Shanghai")).hour == 0
    return pipeline.business_day(dag.start_date - timedelta(days=1))


def test_the_first_scheduled_run_covers_the_configured_start_day(parse_dag, tmp_path):
    _land(tmp_path / "landing", "online_orders", date(2026, 3, 1))

    dag = parse_dag(DATABANK_PIPELINE__START_DATE="2026-05-01")

    assert _first_day(dag) == date(2026, 5, 1)


def test_unless_set_the_first_day_is_the_first_a_required_feed_landed(parse_dag, tmp_path):
    landing = tmp_path / "landing"
    _land(landing, "brands", date(2026, 2, 20))  # optional: reference data sent ahead of the feeds
    _land(landing, "members", date(2026, 3, 3))
    _land(landing, "online_orders", date(2026, 3, 2))
    _land(landing, "online_orders", date(2026, 3, 4))
    (landing / "online_orders" / "dt=2026-03-01").mkdir()  # a delivery still under way: no file yet
    (landing / "online_orders" / "_SUCCESS").write_text("")

    dag = parse_dag()

    assert _first_day(dag) == date(2026, 3, 2)
    assert dag.end_date is None


def test_with_nothing_landed_and_no_start_date_the_scheduler_starts_from_the_coming_night(parse_dag):
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    dag = parse_dag()
    first = coerce_to_core_timetable(dag.timetable).next_dagrun_info(
        last_automated_data_interval=None, restriction=TimeRestriction(None, None, catchup=True)
    )

    # The latest local midnight is the night that just ended; nothing before it is caught up.
    latest_midnight = datetime.now(load_settings().tz).replace(hour=0, minute=0, second=0, microsecond=0)
    assert dag.start_date is None
    assert dag.catchup is False
    assert first.run_after >= latest_midnight


def test_marts_publish_one_asset_per_gold_table_and_only_they_depend_on_the_past(dag):
    marts = dag.get_task("build_and_publish_marts")
    names = sorted(asset.name for asset in marts.outlets)

    assert names == [f"databank.gold.{table}" for table in pipeline.gold_tables()]
    assert {"databank.gold.fct_touchpoints", "databank.gold.aipl_state_history"} <= set(names)
    assert all(
        asset.uri.startswith("file:///") and asset.uri.endswith("/gold/" + asset.name.split(".")[-1])
        for asset in marts.outlets
    )
    assert {t.task_id for t in dag.tasks if t.depends_on_past} == {
        "resolve_identity",
        "build_and_publish_marts",
    }
    assert dag.get_task("resolve_identity").trigger_rule == "none_failed"


def test_required_feeds_fail_when_late_and_optional_ones_are_skipped(dag):
    config = load_settings().pipeline
    required = dag.get_task(f"{config.required_feeds[0]}.wait_for_landing")
    optional = dag.get_task(f"{config.optional_feeds[0]}.wait_for_landing")

    assert (required.soft_fail, optional.soft_fail) == (False, True)
    assert required.mode == "reschedule"
    assert required.timeout == config.landing_timeout_minutes * 60


def test_landing_sensor_waits_for_files_and_skips_an_optional_feed_once_the_required_are_in(
    dag, tmp_path, monkeypatch
):
    from airflow.sdk.exceptions import AirflowSkipException

    monkeypatch.setenv("DATABANK_LANDING_DIR", str(tmp_path))
    pipeline.settings.cache_clear()
    config = load_settings().pipeline
    day = date(2026, 5, 1)
    interval_start = datetime(2026, 5, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    poke = dag.get_task(f"{config.optional_feeds[0]}.wait_for_landing").python_callable
    try:
        assert not poke(config.required_feeds[0], True, data_interval_start=interval_start).is_done
        # An empty folder, or one holding only a hidden file, is a delivery still under way.
        (pipeline.landing_folder(config.required_feeds[0], day) / ".part").parent.mkdir(parents=True)
        (pipeline.landing_folder(config.required_feeds[0], day) / ".part").write_text("")
        assert not poke(config.required_feeds[0], True, data_interval_start=interval_start).is_done
        assert not poke(config.optional_feeds[0], False, data_interval_start=interval_start).is_done

        for feed in config.required_feeds:
            folder = pipeline.landing_folder(feed, day)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{feed}.csv").write_text("")  # an empty file is a delivery: of nothing
        landed = poke(config.required_feeds[0], True, data_interval_start=interval_start)
        assert landed.is_done
        assert landed.xcom_value == str(pipeline.landing_folder(config.required_feeds[0], day))
        with pytest.raises(AirflowSkipException, match="not delivered"):
            poke(config.optional_feeds[0], False, data_interval_start=interval_start)
    finally:
        pipeline.settings.cache_clear()


def test_pipeline_feeds_must_have_contracts_and_be_required_or_optional_not_both():
    with pytest.raises(ValidationError, match="both required and optional"):
        PipelineSettings(required_feeds=("online_orders",), optional_feeds=("online_orders",))
    with pytest.raises(ValidationError, match="without a contract"):
        PipelineSettings(required_feeds=("online_orders", "tiktok_orders"))
    with pytest.raises(ValidationError, match="at least one feed must be required"):
        PipelineSettings(required_feeds=())


def test_pipeline_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABANK_PIPELINE__REQUIRED_FEEDS", '["online_orders"]')
    monkeypatch.setenv("DATABANK_PIPELINE__LANDING_TIMEOUT_MINUTES", "0")

    config = load_settings().pipeline

    assert config.required_feeds == ("online_orders",)
    assert config.landing_timeout_minutes == 0


@pytest.fixture
def cluster_dag(monkeypatch):
    """The DAG as a cluster installation parses it (`DATABANK_PROFILE=cluster`)."""
    import importlib.util

    monkeypatch.setenv("DATABANK_PROFILE", "cluster")
    monkeypatch.setenv("DATABANK_CLUSTER__SPARK_CONN_ID", "spark_prod")
    pipeline.settings.cache_clear()
    spec = importlib.util.spec_from_file_location("databank_nightly_on_cluster", pipeline.DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module.nightly
    pipeline.settings.cache_clear()


def test_on_the_cluster_profile_spark_jobs_are_submitted_with_delta_from_maven(cluster_dag):
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    from databank.spark_conf import _delta_spark_package

    submitted = {t.task_id: t for t in cluster_dag.tasks if isinstance(t, SparkSubmitOperator)}
    ingest = submitted["ingest_feeds"]

    applications = {"ingest_feeds", "standardise_feeds", "resolve_identity", "build_and_publish_marts"}
    assert set(submitted) == applications
    assert all(Path(task.application).is_file() for task in submitted.values())
    assert Path(ingest.application).name == "ingest_feed.py"
    assert Path(submitted["standardise_feeds"].application).name == "standardise.py"
    assert ingest._conn_id == "spark_prod"
    assert not ingest.packages  # nothing resolved through Ivy at run time: make setup fetched the jars
    assert "{1}-{2}.jar".format(*_delta_spark_package().split(":")) in {
        Path(jar).name for jar in ingest.conf["spark.jars"].split(",")
    }
    assert ingest.conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    identity = cluster_dag.get_task("resolve_identity")
    assert identity.upstream_task_ids == {"apply_erasure_requests"}
    assert identity.trigger_rule == "none_failed"
    marts = submitted["build_and_publish_marts"]
    assert marts.upstream_task_ids == {"resolve_identity"}
    assert Path(marts.application).name == "build_marts.py"
    # Airflow schedules the gold Assets' consumers on the submitted build, as on the embedded profile
    assert "databank.gold.aipl_daily_funnel" in {asset.name for asset in marts.outlets}
    # then the worker makes the warehouse over gold, and what reads the warehouse waits for it
    warehouse = cluster_dag.get_task("publish_warehouse")
    assert warehouse.upstream_task_ids == {"build_and_publish_marts"}
    assert warehouse.downstream_task_ids == {"publish_quality_report"}


def _delivered_context(feeds: list[str]) -> dict:
    """The context the night's applications render in: the run of 2026-05-01 (Asia/Shanghai) starts
    at 16:00 UTC the day before, and stores were not delivered (their sensor skipped, and so was their
    bronze gate)."""
    delivered = [feed for feed in feeds if feed != "stores"]
    landed = {f"{feed}.wait_for_landing": f"/landing/{feed}/dt=2026-05-01" for feed in delivered}
    passed = {f"{feed}.check_bronze": {"failed_critical": []} for feed in delivered}
    return {
        "data_interval_start": pendulum.datetime(2026, 4, 30, 16, tz="UTC"),
        "ti": TaskInstanceStub(landed | passed),
    }


def _application_run(task, context: dict) -> tuple[str, tuple[str, ...]]:
    """(step, feeds) an application task runs, as rendered at run time: a job submitted to the
    cluster, or the embedded profile's task in the worker's process."""
    from spark_jobs.each_feed import feed_list, job_arguments

    if hasattr(task, "application_args"):
        arguments = job_arguments("", [task.render_template(a, context) for a in task.application_args])
        assert (arguments.date, arguments.until, arguments.record_outcomes) == (date(2026, 5, 1), None, True)
        return Path(task.application).stem, arguments.feed
    step, feeds = task.op_args
    return step, feed_list(task.render_template(feeds, context))


@pytest.mark.parametrize(
    ("night", "steps"),
    [
        ("dag", {"ingest_feeds": "ingest", "standardise_feeds": "standardise"}),
        ("cluster_dag", {"ingest_feeds": "ingest_feed", "standardise_feeds": "standardise"}),
    ],
)
def test_one_application_ingests_and_one_standardises_the_feeds_that_are_there(request, night, steps):
    """On both profiles: a Spark session costs its start, and an executor runs each task in a process
    of its own, so a night starts one per step, not one per feed and step."""
    night = request.getfixturevalue(night)
    feeds = load_settings().pipeline.feeds
    context = _delivered_context(feeds)

    for step, application in (("ingest", "ingest_feeds"), ("standardise", "standardise_feeds")):
        task = night.get_task(application)
        assert _application_run(task, context) == (
            steps[application],
            tuple(f for f in feeds if f != "stores"),
        )
        assert task.trigger_rule == "none_failed"  # a skipped optional feed is not a failure
        for feed in feeds:
            reported = night.get_task(f"{feed}.{step}")
            assert list(reported.op_args) == [step, feed], feed  # reads the feed's outcome in the application
            gate = "wait_for_landing" if step == "ingest" else "check_bronze"
            assert reported.upstream_task_ids == {f"{feed}.{gate}", application}, feed
    assert night.get_task("ingest_feeds").upstream_task_ids == {f"{f}.wait_for_landing" for f in feeds}
    assert night.get_task("standardise_feeds").upstream_task_ids == {f"{f}.check_bronze" for f in feeds}


def test_each_scheduled_sync_is_its_own_task_after_the_publish(parse_dag):
    sms = {"kind": "webhook", "purpose": "marketing", "url": "http://127.0.0.1:9/", "secret_env": "S"}
    syncs = [{"audience": "lapsed", "destination": "sms"}, {"audience": "new", "destination": "sms"}]
    dag = parse_dag(
        DATABANK_REACH__DESTINATIONS=json.dumps({"sms": sms}), DATABANK_REACH__SYNCS=json.dumps(syncs)
    )
    syncs = [task for task in dag.tasks if task.task_id.startswith("sync_")]
    assert sorted(task.task_id for task in syncs) == ["sync_lapsed__sms", "sync_new__sms"]
    for task in syncs:
        # after the publish, and nothing waits on it: a failed sync leaves the night's marts published
        assert task.upstream_task_ids == {"build_and_publish_marts"}
        assert task.downstream_task_ids == set()
        assert not task.is_teardown
