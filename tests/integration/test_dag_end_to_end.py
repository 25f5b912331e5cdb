"""The nightly DAG end to end, as a user runs it: `databank run` (`dag.test` in-process) over two
generated days, a feed file that lands late followed by the documented catch-up, a finished day's
marts built again after a build of them was killed midway, a day whose feeds never landed,
and `databank status` telling all of it. The days are months before the demo's: the nights start on
the first day that landed, whatever the data's dates.

Every run happens in its own process, as a user starts it: Airflow reads its home and metadata
database once, at import, and they must be this test's (SQLite under the data dir), not the suite's.
The tests of this module build on each other in file order, on one data directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from delta_reading import changed_tables, warehouse_checksums
from deltalake import DeltaTable

from databank import pipeline
from databank.config import Settings, load_settings
from databank.contracts import load_contract
from databank.generator.generate import GenerateArgs, generate
from databank.lineage_settings import EVENTS_FILE

DAYS = (date(2026, 3, 1), date(2026, 3, 2))
LATE_FEED = "online_events"
# Marts a single day of a small brand fills; the rest (RFM, lifecycle, ...) may rightly be empty.
FILLED_BY_ONE_DAY = (
    "fct_touchpoints",
    "aipl_state_history",
    "aipl_daily_funnel",
    "dim_consumers",
    "dim_stores",
    "dim_brands",
)


def _environment(data_dir: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABANK_", "AIRFLOW"))},
        "DATABANK_DATA_DIR": str(data_dir),
        "DATABANK_HMAC_KEY": "dag-end-to-end-key",
        "COLUMNS": "200",  # rich wraps at the terminal width; keep messages on one line
    }


def _databank(data_dir: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "databank.cli", *arguments],
        env=_environment(data_dir),
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _succeeded(result: subprocess.CompletedProcess) -> bool:
    return result.returncode == 0 or pytest.fail(result.stdout[-3000:] + result.stderr[-3000:])


def gold_checksums(settings: Settings) -> dict[str, tuple[int, int]]:
    """Rows and an order-independent hash of the content of every gold table's current version."""
    sums = {}
    with duckdb.connect() as con:
        for table in pipeline.gold_tables():
            files = DeltaTable(str(settings.lakehouse / "gold" / table)).file_uris()
            sums[table] = (
                con.execute(f"SELECT count(*), sum(hash(t)) FROM read_parquet({files!r}) AS t").fetchone()
                if files
                else (0, None)
            )
    return sums


def _late_file(settings: Settings) -> Path:
    """The largest delivery of one event feed on the first day: the file that will come late."""
    folder = pipeline.landing_folder(LATE_FEED, DAYS[0], settings)
    originals = [p for p in folder.iterdir() if not p.stem.endswith(("_resend", "_part2"))]
    return max(originals, key=lambda p: p.stat().st_size)


def _record_ids(path: Path) -> set[str]:
    """The record ids of a JSON Lines delivery (lines damaged on purpose aside)."""
    record_id = load_contract(LATE_FEED).record_id
    ids = set()
    for line in path.read_text(errors="replace").splitlines():
        try:
            ids.add(json.loads(line)[record_id])
        except (ValueError, KeyError, TypeError):
            continue
    return ids


@pytest.fixture(scope="module")
def night(module_tmp):
    """Two generated days of 300 consumers run through the DAG, one file of day 1 held back to land
    late. Returns the settings and the command's result."""
    data_dir = module_tmp("dag-e2e")
    settings = load_settings(data_dir=data_dir, hmac_key="dag-end-to-end-key")
    generate(GenerateArgs(out=settings.landing, consumers=300, days=2, start=DAYS[0], seed=3, bad_rate=0.02))
    late = _late_file(settings)
    (data_dir / "held-back").mkdir()
    shutil.move(late, data_dir / "held-back" / late.name)
    return settings, _databank(data_dir, "run", "--start", DAYS[0].isoformat(), "--end", DAYS[-1].isoformat())


def test_the_run_succeeds_and_says_what_each_feed_delivered(night):
    _, result = night

    assert _succeeded(result)
    for day in DAYS:
        assert f"{day}: success" in result.stdout
    assert "online_orders" in result.stdout
    assert "2 day(s) done" in result.stdout


def test_a_day_before_the_first_landed_one_is_refused_before_any_task(night):
    settings, _ = night

    result = _databank(settings.data_dir, "run", "--date", "2026-02-28")

    said = " ".join(result.stdout.split())
    assert result.returncode == 1, said
    assert "2026-02-28 is before the first business day 2026-03-01" in said


def test_every_gold_table_exists_and_the_days_fill_the_main_ones(night):
    settings, _ = night
    rows = {table: count for table, (count, _) in gold_checksums(settings).items()}

    assert set(rows) == set(pipeline.gold_tables())
    assert all(rows[table] > 0 for table in FILLED_BY_ONE_DAY), rows


def test_the_warehouse_is_published_with_the_same_marts(night):
    settings, _ = night
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        marts = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            ).fetchall()
        }
        funnel_days = {
            row[0]
            for row in con.execute("SELECT DISTINCT funnel_date FROM marts.aipl_daily_funnel").fetchall()
        }

    assert marts == set(pipeline.gold_tables())
    assert funnel_days == set(DAYS)


def test_airflow_recorded_a_run_per_day_and_an_event_per_gold_asset(night):
    settings, _ = night
    with sqlite3.connect(pipeline.airflow_home(settings) / "airflow.db") as db:
        runs = db.execute(
            "SELECT state, data_interval_start FROM dag_run WHERE dag_id = ? ORDER BY 2", [pipeline.DAG_ID]
        ).fetchall()
        events = db.execute(
            "SELECT a.name, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id ORDER BY e.id"
        ).fetchall()
        skipped = {
            row[0]
            for row in db.execute(
                "SELECT task_id FROM task_instance WHERE dag_id = ? AND state = 'skipped'", [pipeline.DAG_ID]
            )
        }

    assert [state for state, _ in runs] == ["success", "success"]
    assert runs[0][1].startswith("2026-02-28 16:00:00")  # local midnight of the first day, in UTC
    gold = {name for name, _ in events if name.startswith("databank.gold.")}
    assert gold == {f"databank.gold.{table}" for table in pipeline.gold_tables()}
    assert {"databank.bronze.online_orders", "databank.silver.identity_map"} <= {name for name, _ in events}
    touchpoints = [json.loads(extra) for name, extra in events if name == "databank.gold.fct_touchpoints"]
    assert [event["run_date"] for event in touchpoints[-2:]] == [day.isoformat() for day in DAYS]
    assert touchpoints[-1]["rows"] > 0
    # Erasure requests are rare: a missing optional feed is skipped with everything after it in its group.
    assert {"erasure_requests.wait_for_landing", "erasure_requests.ingest"} <= skipped


def test_each_night_sent_the_lineage_of_its_tasks_from_a_landing_folder_to_the_marts(night):
    settings, _ = night
    lines = (settings.reports / EVENTS_FILE).read_text().splitlines()
    completed: dict[str, list[dict]] = {}
    for event in map(json.loads, lines):
        if event["eventType"] == "COMPLETE":
            completed.setdefault(event["job"]["name"].removeprefix(f"{pipeline.DAG_ID}."), []).append(event)

    def paths(event: dict, side: str) -> set[str]:
        return {dataset["name"] for dataset in event[side]}

    lake, landing = settings.lakehouse.resolve(), settings.landing.resolve()
    ingest, standardise = completed["online_orders.ingest"], completed["online_orders.standardise"]
    marts = completed["build_and_publish_marts"]
    assert len(ingest) == len(standardise) == len(marts) == len(DAYS)  # one per night
    assert paths(ingest[-1], "inputs") == {str(landing / "online_orders")}
    assert str(lake / "bronze" / "online_orders") in paths(ingest[-1], "outputs")
    assert paths(standardise[-1], "inputs") == {str(lake / "bronze" / "online_orders")}
    assert str(lake / "silver" / "online_orders") in paths(standardise[-1], "outputs")
    assert str(lake / "silver" / "identity_map") in paths(completed["resolve_identity"][-1], "outputs")
    assert str(lake / "silver" / "online_orders") in paths(marts[-1], "inputs")
    assert str(lake / "gold" / "aipl_daily_funnel") in paths(marts[-1], "outputs")


@pytest.mark.slow
def test_a_file_landing_late_is_picked_up_by_running_its_day_and_the_days_after(night):
    settings, _ = night
    late = next((settings.data_dir / "held-back").iterdir())
    late_ids = _record_ids(late)
    funnel_before = _funnel(settings, DAYS[0])
    shutil.move(late, pipeline.landing_folder(LATE_FEED, DAYS[0], settings) / late.name)

    result = _databank(
        settings.data_dir, "run", "--start", DAYS[0].isoformat(), "--end", DAYS[-1].isoformat()
    )

    assert _succeeded(result)
    with duckdb.connect() as con:
        files = DeltaTable(str(settings.lakehouse / "gold" / "fct_touchpoints")).file_uris()
        touched = {
            row[0]
            for row in con.execute(
                f"SELECT DISTINCT source_record_id FROM read_parquet({files!r}) "
                "WHERE source_feed = ? AND touched_date = ?",
                [LATE_FEED, DAYS[0]],
            ).fetchall()
        }
    assert touched & late_ids  # the late records are the first day's touches now
    assert _funnel(settings, DAYS[0]) != funnel_before  # and the states of that day are corrected


def test_a_build_killed_midway_publishes_nothing_and_building_the_day_again_is_as_a_clean_build(night):
    """A finished day's marts built again, after a build of them was killed in the middle: gold and
    every table of the warehouse, intermediate ones too, stay as they were. The night's own step
    (`databank marts`, which `databank run` calls after OneID) is killed and re-run, not the whole
    night: what is at stake is the build and the swap that publishes it."""
    settings, _ = night
    clean = gold_checksums(settings)
    published = warehouse_checksums(settings.warehouse)
    build_file = settings.warehouse.with_name(f"{settings.warehouse.stem}.build{settings.warehouse.suffix}")
    run = subprocess.Popen(
        [sys.executable, "-m", "databank.cli", "marts", "--date", DAYS[-1].isoformat()],
        env=_environment(settings.data_dir),
        cwd=settings.data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while not build_file.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # dbt is building into the copy of the warehouse
    os.killpg(run.pid, signal.SIGKILL)  # the run and everything it started (Spark, dbt)
    run.wait()
    assert run.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-build"
    assert gold_checksums(settings) == clean  # the killed build published nothing

    assert _succeeded(_databank(settings.data_dir, "marts", "--date", DAYS[-1].isoformat()))
    assert gold_checksums(settings) == clean
    assert changed_tables(published, warehouse_checksums(settings.warehouse)) == set()


def test_a_day_whose_required_feeds_never_landed_fails_naming_the_feed(night):
    settings, _ = night

    result = _databank(settings.data_dir, "run", "--date", "2026-03-03")

    assert result.returncode == 1
    assert "wait_for_landing failed" in result.stdout
    assert "required feed online_events has not landed for 2026-03-03" in result.stdout


def test_status_says_what_each_night_did_why_the_last_failed_and_what_waits(night):
    """`databank status --json` against Airflow's metadata and the lakehouse of the nights above: two
    nights that ran (each run again since), one that failed for want of its feeds; and a file that
    lands for the first day after its night ran."""
    settings, _ = night
    first = _late_file(settings)
    late = first.with_name(f"{first.stem}_late{first.suffix}")
    shutil.copy(first, late)

    result = _databank(settings.data_dir, "status", "--json")

    assert _succeeded(result)
    status = json.loads(result.stdout)  # stdout holds the document and nothing else
    recorded = _recorded_runs(settings)
    nights = status["nights"]
    assert [(n["day"], n["state"]) for n in nights] == [(day, run["state"]) for day, run in recorded.items()]
    assert [n["state"] for n in nights] == ["success", "success", "failed"]
    for night_run in nights:
        assert night_run["seconds"] == pytest.approx(recorded[night_run["day"]]["seconds"], abs=0.1)
    failed = nights[-1]
    assert {t["task_id"] for t in failed["failed_tasks"]} == recorded["2026-03-03"]["failed"]
    reasons = {t["task_id"]: t["reason"] for t in failed["failed_tasks"]}
    assert reasons[f"{LATE_FEED}.wait_for_landing"].startswith(
        f"required feed {LATE_FEED} has not landed for 2026-03-03: no files in "
    )
    assert all(reasons.values())  # the DAG's failure callback kept each reason, under dag.test()
    assert failed["rerun"] == "databank run --date 2026-03-03"
    assert [n["rerun"] for n in nights[:-1]] == [None, None]
    last_day = DAYS[-1].isoformat()
    for feed in nights[1]["feeds"]:
        ingested = recorded[last_day]["returned"].get(f"{feed['feed']}.ingest")
        if ingested is None:
            assert feed["state"] == "not delivered"
            continue
        assert feed["rows_delivered"] == ingested["rows_delivered"]
        assert feed["rows_quarantined"] == ingested["rows_quarantined"]
        assert feed["rows_bronze"] == _rows_of_day(settings, "bronze", feed["feed"], DAYS[-1])
    gold = {table["name"]: table["version"] for table in status["gold_tables"]}
    assert gold == {
        t: DeltaTable(str(settings.lakehouse / "gold" / t)).version() for t in pipeline.gold_tables()
    }
    assert status["warehouse_run_date"] == max(row[0] for row in _funnel_days(settings)).isoformat()
    assert status["late_files"] == [{"feed": LATE_FEED, "day": DAYS[0].isoformat(), "file": late.name}]
    assert status["late_files_rerun"] == "databank run --start 2026-03-01 --end 2026-03-03"
    upkeep = nights[1]["upkeep"]
    assert upkeep == recorded[last_day]["returned"]["keep_lakehouse"]
    assert 0 < upkeep["files_after"] < upkeep["files_before"]


def test_after_the_nights_upkeep_every_bronze_and_silver_partition_is_one_file(night):
    """The nights ran each day more than once (the first nights, then the late-file catch-up):
    without compaction, each run leaves its own files in the partitions it rewrote or appended to."""
    settings, _ = night
    for layer in ("bronze", "silver"):
        for log in (settings.lakehouse / layer).glob("*/_delta_log"):
            table = DeltaTable(str(log.parent))
            partitions = table.metadata().partition_columns
            files = pa.table(table.get_add_actions(flatten=True)).to_pylist()
            per_partition = Counter(tuple(f[f"partition.{c}"] for c in partitions) for f in files)
            assert set(per_partition.values()) <= {1}, f"{layer}/{log.parent.name}: {per_partition}"


def _recorded_runs(settings: Settings) -> dict[str, dict]:
    """Each day's run read straight from Airflow's metadata: state, first task's start to the run's
    end in seconds, failed tasks and what each task returned."""
    airflow_db = pipeline.airflow_home(settings) / "airflow.db"
    runs = {}
    with closing(sqlite3.connect(f"{airflow_db.as_uri()}?mode=ro", uri=True)) as db:
        for run_id, state, start, end in db.execute(
            "SELECT run_id, state, data_interval_start, end_date FROM dag_run WHERE dag_id = ? ORDER BY 3",
            [pipeline.DAG_ID],
        ).fetchall():
            day = (datetime.fromisoformat(start).replace(tzinfo=UTC).astimezone(settings.tz)).date()
            tasks = db.execute(
                "SELECT task_id, state, start_date FROM task_instance WHERE run_id = ?", [run_id]
            )
            tasks = tasks.fetchall()
            first = min(datetime.fromisoformat(s) for _, _, s in tasks if s)
            returned = db.execute(
                "SELECT task_id, value FROM xcom WHERE run_id = ? AND key = 'return_value'", [run_id]
            )
            runs[day.isoformat()] = {
                "state": state,
                "seconds": (datetime.fromisoformat(end) - first).total_seconds(),
                "failed": {task_id for task_id, task_state, _ in tasks if task_state == "failed"},
                "returned": {task_id: json.loads(value) for task_id, value in returned},
            }
    return runs


def _rows_of_day(settings: Settings, layer: str, feed: str, day: date) -> int:
    return (
        DeltaTable(str(settings.lakehouse / layer / feed))
        .to_pyarrow_dataset()
        .count_rows(filter=pc.field("dt") == day)
    )


def _funnel_days(settings: Settings) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute("SELECT DISTINCT funnel_date FROM marts.aipl_daily_funnel").fetchall()


def _funnel(settings: Settings, day: date) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(
            "SELECT * FROM marts.aipl_daily_funnel WHERE funnel_date = ? ORDER BY brand_id", [day]
        ).fetchall()
