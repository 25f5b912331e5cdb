"""`databank.status` on tiny fabricated facts: Airflow metadata in a small SQLite file, a Delta table
or two, a landing folder and a warehouse of one table."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
from airflow_records import DAG_ID, Run, Task, write_metadata
from deltalake import write_deltalake

from databank import pipeline, status
from databank.config import load_settings
from databank.recorded_runs import read_runs

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH_1 = "2026-02-28 16:00:00.000000"  # the local midnight starting 1 March, in UTC
MARCH_2 = "2026-03-01 16:00:00.000000"
INGESTED = {"rows_delivered": 10, "rows_bronze": 8, "rows_quarantined": 1, "rows_suppressed": 1}


def test_a_day_run_again_has_one_run_the_latest_on_its_local_business_day(tmp_path):
    db = write_metadata(
        tmp_path / "airflow.db",
        [
            Run("first", "failed", MARCH_1, "10:00:05"),
            Run("second", "success", MARCH_2, "10:00:09"),
            Run("again", "success", MARCH_1, "11:00:07"),
        ],
    )

    runs = read_runs(db, DAG_ID, SHANGHAI)

    assert [(run.day, run.state) for run in runs] == [
        (date(2026, 3, 1), "success"),
        (date(2026, 3, 2), "success"),
    ]
    assert runs[0].ended_at == datetime(2026, 12, 2, 11, 0, 7, tzinfo=UTC)
    assert read_runs(db, DAG_ID, SHANGHAI, last=1)[0].day == date(2026, 3, 2)


def test_a_failed_night_says_how_long_what_failed_why_and_how_to_run_it_again(tmp_path):
    db = write_metadata(
        tmp_path / "airflow.db",
        [
            Run(
                "r1",
                "failed",
                MARCH_1,
                "10:01:00",
                (
                    Task("orders.wait_for_landing", "success", "10:00:00", "10:00:01"),
                    Task("orders.ingest", "success", "10:00:01", "10:00:31", returned=INGESTED),
                    Task(
                        "orders.check_bronze", "failed", "10:00:31", "10:00:33", failure="QualityGateError: x"
                    ),
                    Task("orders.standardise", "upstream_failed", None, None),
                    Task("refunds.wait_for_landing", "skipped", "10:00:00", "10:00:00"),
                    Task("resolve_identity", "upstream_failed", None, None),
                ),
            ),
            Run("r2", "success", MARCH_2, "11:00:00"),
        ],
    )
    [run, _] = read_runs(db, DAG_ID, SHANGHAI)

    night = status.night(run, [], last_day=date(2026, 3, 2))

    assert night.seconds == 60.0  # first task's start to the run's end
    assert night.slowest_tasks == (
        status.TaskTime("orders.ingest", 30.0),
        status.TaskTime("orders.check_bronze", 2.0),
        status.TaskTime("orders.wait_for_landing", 1.0),
    )
    assert night.failed_tasks == (status.FailedTask("orders.check_bronze", "QualityGateError: x"),)
    assert night.feeds == (
        status.FeedRows("orders", "failed", 10, 8, 1, 1, None),
        status.FeedRows("refunds", "not delivered", None, None, None, None, None),
    )
    assert night.identity is None
    assert night.rerun == "databank run --start 2026-03-01 --end 2026-03-02"


def test_the_rerun_of_the_last_night_is_that_day_alone():
    assert status.rerun_command(date(2026, 3, 3), date(2026, 3, 3)) == "databank run --date 2026-03-03"


def test_a_failed_critical_expectation_fails_the_night_and_a_failed_warning_does_not():
    def result(expectation, severity, success):
        return {
            "suite": "bronze.orders",
            "expectation": expectation,
            "severity": severity,
            "success": success,
        }

    passed = result("rows_present", "warning", True)
    warned = result("volume", "warning", False)
    failed = result("key_unique", "critical", False)

    assert status.quality_verdict([passed]).verdict == "passed"
    assert status.quality_verdict([passed, warned]).warnings == ("bronze.orders:volume",)
    assert status.quality_verdict([passed, warned]).verdict == "warnings"
    assert status.quality_verdict([warned, failed]).critical_failures == ("bronze.orders:key_unique",)
    assert status.quality_verdict([warned, failed]).verdict == "failed"
    assert status.quality_verdict([]).verdict == "not checked"


def test_a_file_of_a_night_that_succeeded_that_no_ingest_registered_is_late(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    day, not_run = date(2026, 3, 1), date(2026, 3, 2)
    for feed, folder_day, name in [
        ("online_orders", day, "orders_1.jsonl"),  # registered
        ("online_orders", day, "orders_2.jsonl"),  # late
        ("online_orders", day, ".orders_3.jsonl.part"),  # a transfer in progress
        ("online_orders", not_run, "orders_4.jsonl"),  # its night has not run
    ]:
        folder = pipeline.landing_folder(feed, folder_day, settings)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}\n")
    registered = pa.table(
        {
            "feed": ["online_orders"],
            "dt": pa.array([day], pa.date32()),
            "file": ["online_orders/dt=2026-03-01/orders_1.jsonl"],
        }
    )
    write_deltalake(str(settings.lakehouse / "ops" / "ingested_files"), registered, partition_by=["feed"])

    late = status.late_files(settings, [day])

    assert late == (status.LateFile("online_orders", day, "orders_2.jsonl"),)


def test_a_gold_table_shows_its_version_and_last_commit(tmp_path):
    table = tmp_path / "gold" / "aipl_daily_funnel"
    write_deltalake(str(table), pa.table({"n": [1]}))
    write_deltalake(str(table), pa.table({"n": [2]}), mode="overwrite")

    [gold] = status.gold_tables(tmp_path / "gold")

    assert (gold.name, gold.version) == ("aipl_daily_funnel", 1)
    assert abs((datetime.now(UTC) - gold.written_at).total_seconds()) < 60


def test_the_warehouse_run_date_is_its_last_funnel_day_and_none_without_a_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    assert status.warehouse_run_date(warehouse) is None
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts; CREATE TABLE marts.aipl_daily_funnel (funnel_date DATE)")
        con.execute("INSERT INTO marts.aipl_daily_funnel VALUES ('2026-03-01'), ('2026-03-02')")

    assert status.warehouse_run_date(warehouse) == date(2026, 3, 2)
