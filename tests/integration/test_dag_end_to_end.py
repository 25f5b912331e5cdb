"""The nightly DAG end to end: `databank run` (dag.test in-process) over one tiny generated day.

The run happens in its own process, as a user starts it: Airflow reads its home and metadata database
once, at import, and they must be this test's (SQLite under the data dir), not the suite's.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date

import duckdb
import pytest
from deltalake import DeltaTable

from databank import pipeline
from databank.config import load_settings
from databank.generator.generate import GenerateArgs, generate

pytestmark = pytest.mark.slow
DAY = date(2026, 5, 1)
# Marts a single day of a small brand fills; the rest (RFM, lifecycle, ...) may rightly be empty.
FILLED_BY_ONE_DAY = (
    "fct_touchpoints",
    "aipl_state_history",
    "aipl_daily_funnel",
    "dim_consumers",
    "dim_stores",
)


def _databank(data_dir, *arguments: str) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABANK_", "AIRFLOW"))},
        "DATABANK_DATA_DIR": str(data_dir),
        "DATABANK_HMAC_KEY": "dag-end-to-end-key",
        "COLUMNS": "200",  # rich wraps at the terminal width; keep messages on one line
    }
    return subprocess.run(
        [sys.executable, "-m", "databank.cli", *arguments],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """One generated day landed and run through the DAG; the settings and the command's result."""
    data_dir = tmp_path_factory.mktemp("dag-e2e")
    settings = load_settings(data_dir=data_dir, hmac_key="dag-end-to-end-key")
    generate(GenerateArgs(out=settings.landing, consumers=300, days=1, start=DAY, seed=3, bad_rate=0.02))
    return settings, _databank(data_dir, "run", "--date", DAY.isoformat())


def test_the_run_succeeds_and_says_what_each_feed_delivered(night):
    _, result = night

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"{DAY}: success" in result.stdout
    assert "online_orders" in result.stdout
    assert "1 day(s) done" in result.stdout


def test_every_gold_table_exists_and_the_day_fills_the_main_ones(night):
    settings, _ = night
    gold = settings.lakehouse / "gold"
    rows = {}
    with duckdb.connect() as con:
        for table in pipeline.gold_tables():
            files = DeltaTable(str(gold / table)).file_uris()
            rows[table] = (
                con.execute(f"SELECT count(*) FROM read_parquet({files!r})").fetchone()[0] if files else 0
            )

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
    assert funnel_days == {DAY}


def test_airflow_recorded_the_run_for_the_day_and_an_event_per_gold_asset(night):
    settings, _ = night
    with sqlite3.connect(pipeline.airflow_home(settings) / "airflow.db") as db:
        runs = db.execute(
            "SELECT state, data_interval_start FROM dag_run WHERE dag_id = ?", [pipeline.DAG_ID]
        ).fetchall()
        events = dict(
            db.execute(
                "SELECT a.name, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id"
            ).fetchall()
        )
        skipped = {
            row[0]
            for row in db.execute(
                "SELECT task_id FROM task_instance WHERE dag_id = ? AND state = 'skipped'", [pipeline.DAG_ID]
            )
        }

    assert [state for state, _ in runs] == ["success"]
    assert runs[0][1].startswith("2026-04-30 16:00:00")  # local midnight of the day, in UTC
    assert set(events) == {f"databank.gold.{table}" for table in pipeline.gold_tables()}
    touchpoints = json.loads(events["databank.gold.fct_touchpoints"])
    assert touchpoints["run_date"] == DAY.isoformat()
    assert touchpoints["rows"] > 0
    # Erasure requests are rare: a missing optional feed is skipped with everything after it in its group.
    assert {"erasure_requests.wait_for_landing", "erasure_requests.ingest"} <= skipped


def test_a_day_whose_required_feeds_never_landed_fails_naming_the_feed(night):
    settings, _ = night

    result = _databank(settings.data_dir, "run", "--date", "2026-05-02")

    assert result.returncode == 1
    assert "wait_for_landing failed" in result.stdout
    assert "required feed online_orders has not landed for 2026-05-02" in result.stdout
