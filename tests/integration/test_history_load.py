"""A brand's history in one load, then a night: the lakehouse its nights would have left, with earlier
days seen with hindsight (docs/history.md). The suite's shared world ran every day as a night; here
the same deliveries are loaded with `load_history` up to the day before the last, then the last day
runs as a night, and the two lakehouses are compared table by table."""

from __future__ import annotations

import shutil
from datetime import timedelta

import polars as pl
import pytest
from delta_reading import DAYS, FEEDS, START
from lakehouse_content import consumer_names, differences, rows, tables

from databank.config import Settings, load_settings
from databank.history import HistoryLoad, load_history, run_night_jobs
from databank.housekeeping import keep_lakehouse
from databank.marts import build_marts

pytestmark = pytest.mark.slow
TONIGHT = START + timedelta(days=DAYS - 1)
# Written per night by design: the range keeps one snapshot of the map, and its guards and changes.
PER_NIGHT = {"identity_map", "identity_guards", "one_id_history"}


@pytest.fixture(scope="module")
def loaded(spark, resolved, module_tmp) -> tuple[Settings, HistoryLoad]:
    """The history load's settings and what it did, up to the day before tonight."""
    history = load_settings(
        data_dir=module_tmp("history"), landing_dir=resolved[0].landing, hmac_key="integration-key"
    )
    load = load_history(history, START, TONIGHT - timedelta(days=1))
    assert all(fed.days == DAYS - 1 for feed, fed in load.feeds.items() if feed in FEEDS)
    assert load.consumers > 0
    return history, load


@pytest.fixture(scope="module")
def lakehouses(resolved, loaded, module_tmp) -> tuple[Settings, Settings]:
    """(the nights' settings, the history load's settings), both with their marts restated tonight."""
    nights, history = resolved[0], loaded[0]
    run_night_jobs(history, TONIGHT)  # tonight, as the nightly DAG's tasks run it
    assert build_marts(history, TONIGHT, restate=True).restated

    restated = load_settings(data_dir=module_tmp("nights"), hmac_key="integration-key")
    shutil.copytree(nights.lakehouse / "silver", restated.lakehouse / "silver")
    assert build_marts(restated, TONIGHT, restate=True).restated
    return restated, history


def test_the_load_ends_with_the_housekeeping_its_last_night_would_run(loaded):
    history, load = loaded
    kept = load.housekeeping

    # The batches wrote several files to a day; the pass compacted them, so the first night after
    # the load finds nothing of the range left to compact.
    assert kept["run_date"] == load.last.isoformat()
    assert kept["files_after"] < kept["files_before"]
    assert "housekeeping" in load.seconds
    again = keep_lakehouse(history, load.last)
    assert again.files_before == again.files_after == kept["files_after"]


def test_bronze_quarantine_and_the_file_register_hold_what_the_nights_wrote(resolved, lakehouses):
    nights = resolved[0].lakehouse
    history = lakehouses[1].lakehouse
    compared = [(layer, table) for layer in ("bronze", "quarantine") for table in tables(nights, layer)]
    compared.append(("ops", "ingested_files"))

    differ = {t: differences(rows(nights, *t), rows(history, *t)) for t in compared}

    assert len(compared) > 10
    assert {t: n for t, n in differ.items() if n} == {}


def test_each_days_row_accounting_is_logged_as_its_night_logged_it(resolved, lakehouses):
    nights, history = resolved[0].lakehouse, lakehouses[1].lakehouse
    # A range seals its identifiers in one pass and logs their count under its last day.
    logged = [
        rows(path, "ops", "ingest_runs", without=("identifiers_vaulted",)) for path in (nights, history)
    ]
    vaulted = [
        pl.read_delta(str(path / "ops" / "ingest_runs"))["identifiers_vaulted"].sum()
        for path in (nights, history)
    ]

    assert sum(logged[0].values()) >= len(FEEDS) * DAYS
    assert differences(*logged) == 0
    assert vaulted[0] == vaulted[1]


def test_silver_and_identity_are_the_nights_up_to_the_names_of_consumer_ids(resolved, lakehouses):
    nights, history = resolved[0].lakehouse, lakehouses[1].lakehouse
    silver = [table for table in tables(nights, "silver") if table not in PER_NIGHT]

    differ = {
        table: differences(rows(nights, "silver", table), rows(history, "silver", table)) for table in silver
    }
    maps = [
        rows(path, "silver", "identity_map", consumer_names(path, TONIGHT), dt=TONIGHT)
        for path in (nights, history)
    ]

    assert {"identifiers", "identity_edges", "online_orders", "members"} <= set(silver)
    assert {table: n for table, n in differ.items() if n} == {}
    assert sum(maps[0].values()) > 0
    assert differences(*maps) == 0


def test_every_mart_restated_tonight_is_the_nights_restated_tonight(lakehouses):
    nights, history = (settings.lakehouse for settings in lakehouses)
    names = consumer_names(nights, TONIGHT), consumer_names(history, TONIGHT)
    gold = tables(nights, "gold")

    differ = {
        table: differences(rows(nights, "gold", table, names[0]), rows(history, "gold", table, names[1]))
        for table in gold
    }

    assert {"aipl_state_history", "aipl_daily_funnel", "dim_consumers", "fct_order_lines"} <= set(gold)
    assert {table: n for table, n in differ.items() if n} == {}
