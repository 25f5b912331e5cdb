"""The quality gates on generated data: every suite passes on the ingested, standardised and published
days and fails on a crafted bad batch; a critical failure stops publish; the report renders in a browser.

Crafted batches are made on copies: the shared fixtures' tables and warehouse are never changed.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import timedelta

import duckdb
import pyarrow as pa
import pytest
from delta_reading import DAYS, FEEDS, START
from deltalake import DeltaTable, write_deltalake

from databank.config import load_settings
from databank.marts import GoldQualityError, build_marts
from databank.quality.batches import delta_day
from databank.quality.docs import build_data_docs
from databank.quality.gates import QualityGateError, check_bronze, check_gold, check_silver
from databank.quality.results import read_results

LAST_DAY = START + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def lake_copy(standardised, module_tmp):
    """Settings over a copy of the bronze and silver of every feed; the volume rule applies from the
    third day (the fixture holds three)."""
    source, _ = standardised
    data = module_tmp("quality")
    for layer in ("bronze", "silver"):
        for feed in FEEDS:
            shutil.copytree(source.lakehouse / layer / feed, data / "lakehouse" / layer / feed)
    return load_settings(data_dir=data, hmac_key="integration-key", quality={"volume_min_history_days": 2})


@pytest.fixture
def warehouse_copy(published, tmp_path):
    """The published warehouse of the last day, copied aside to be broken."""
    settings, _ = published
    copy = tmp_path / "build.duckdb"
    shutil.copyfile(settings.warehouse, copy)
    return copy


def replace_day(settings, layer: str, feed: str, rows: pa.Table) -> None:
    path = settings.lakehouse / layer / feed
    write_deltalake(str(path), rows, mode="overwrite", predicate=f"dt = '{LAST_DAY}'", partition_by=["dt"])


def day_rows(settings, layer: str, feed: str) -> pa.Table:
    return pa.Table.from_pandas(delta_day(settings.lakehouse / layer / feed, LAST_DAY), preserve_index=False)


def test_bronze_and_silver_suites_pass_on_every_clean_ingested_day(lake_copy):
    reports = [
        gate(lake_copy, feed, START + timedelta(days=n))
        for n in range(DAYS)
        for feed in FEEDS
        for gate in (check_bronze, check_silver)
    ]

    assert [(r.suite, r.day, r.failed_critical) for r in reports if r.failed_critical] == []
    # A thin feed (a handful of POS lines a day at this size) may have an empty day: shown, not fatal.
    assert {name.split(":")[1] for r in reports for name in r.failed_warning} <= {"rows_present"}
    recorded = read_results(lake_copy)
    assert recorded.num_rows == sum(r.checked for r in reports)
    assert "volume_not_dropped" in recorded.column("expectation").to_pylist()  # history was long enough


def test_a_dropped_feed_warns_and_fails_the_bronze_gate_where_severity_says_so(lake_copy):
    pings = day_rows(lake_copy, "bronze", "lbs_pings")
    replace_day(lake_copy, "bronze", "lbs_pings", pings.slice(0, pings.num_rows // 10))
    strict = lake_copy.model_copy(
        update={
            "quality": lake_copy.quality.model_copy(update={"severity": {"*:volume_not_dropped": "critical"}})
        }
    )

    report = check_bronze(lake_copy, "lbs_pings", LAST_DAY)
    with pytest.raises(QualityGateError, match=r"bronze\.lbs_pings:volume_not_dropped"):
        check_bronze(strict, "lbs_pings", LAST_DAY)

    assert "bronze.lbs_pings:volume_not_dropped" in report.failed_warning


def test_a_duplicated_day_fails_the_silver_gate(lake_copy):
    events = day_rows(lake_copy, "silver", "online_events")
    replace_day(lake_copy, "silver", "online_events", pa.concat_tables([events, events]))

    with pytest.raises(QualityGateError, match=r"silver\.online_events:unique\(event_id\)"):
        check_silver(lake_copy, "online_events", LAST_DAY)


def test_the_gold_suites_pass_on_the_published_marts(published, warehouse_copy, tmp_path):
    settings = load_settings(data_dir=tmp_path, hmac_key="integration-key")

    report = check_gold(settings, warehouse_copy, LAST_DAY)

    assert (report.failed_critical, report.failed_warning) == ([], [])


def test_a_broken_flow_identity_fails_the_gold_gate(warehouse_copy, tmp_path):
    settings = load_settings(data_dir=tmp_path, hmac_key="integration-key")
    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute(
            "UPDATE marts.aipl_flow_metrics SET churned = churned + 1 "
            f"WHERE d1 = DATE '{LAST_DAY}' AND lag_days = 1 AND state = 'A'"
        )

    with pytest.raises(QualityGateError) as failure:
        check_gold(settings, warehouse_copy, LAST_DAY)

    assert failure.value.report.failed_critical == ["gold.flow:flow_identity_d0"]


def test_a_duplicated_funnel_day_fails_the_gold_gate(warehouse_copy, tmp_path):
    settings = load_settings(data_dir=tmp_path, hmac_key="integration-key")
    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute(
            "INSERT INTO marts.aipl_daily_funnel "
            f"SELECT * FROM marts.aipl_daily_funnel WHERE funnel_date = DATE '{START}'"
        )

    with pytest.raises(QualityGateError, match=r"gold\.funnel:one_row_per_brand_and_day"):
        check_gold(settings, warehouse_copy, LAST_DAY)


def test_a_critical_failure_stops_publish_and_the_previous_marts_stay(published, tmp_path):
    """The feeds of the next day never arrived, yet its marts are built: dbt runs and passes, but the
    night holds no touchpoint of its own day; the gate stops it before gold and the swap."""
    source, _ = published
    settings = load_settings(data_dir=tmp_path, hmac_key="integration-key")
    shutil.copytree(source.lakehouse / "silver", settings.lakehouse / "silver")
    shutil.copytree(source.lakehouse / "gold", settings.lakehouse / "gold")
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(source.warehouse, settings.warehouse)
    published_bytes = hashlib.sha256(settings.warehouse.read_bytes()).hexdigest()
    gold_versions = {p.name: DeltaTable(str(p)).version() for p in (settings.lakehouse / "gold").iterdir()}

    with pytest.raises(GoldQualityError, match=r"gold\.touchpoints:fresh\(touched_date\)"):
        build_marts(settings, LAST_DAY + timedelta(days=1))

    assert hashlib.sha256(settings.warehouse.read_bytes()).hexdigest() == published_bytes
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        newest = con.execute("SELECT max(funnel_date) FROM marts.aipl_daily_funnel").fetchone()[0]
    assert newest == LAST_DAY
    assert {p.name: DeltaTable(str(p)).version() for p in (settings.lakehouse / "gold").iterdir()} == (
        gold_versions
    )
    stopped = [r for r in read_results(settings).to_pylist() if not r["success"]]
    assert {(r["suite"], r["expectation"]) for r in stopped} >= {("gold.touchpoints", "fresh(touched_date)")}


def test_the_quality_page_renders_in_a_browser(lake_copy, browser, tmp_path):
    pings = day_rows(lake_copy, "bronze", "lbs_pings")
    replace_day(lake_copy, "bronze", "lbs_pings", pings.slice(0, 0))  # the feed did not come
    with pytest.raises(QualityGateError):
        check_bronze(lake_copy, "lbs_pings", LAST_DAY)
    index = build_data_docs(lake_copy)

    browser.get(index.as_uri())
    browser.set_window_size(1400, 2200)
    screenshot = lake_copy.reports / "quality" / "screenshot.png"
    assert browser.save_screenshot(str(screenshot))

    assert browser.title == "databank — data quality"
    failed_day = browser.find_element("id", f"day-{LAST_DAY}").find_element(
        "xpath", "following-sibling::table[1]"
    )
    assert "rows_present" in failed_day.text
    assert "lbs_pings" in failed_day.text
    assert screenshot.stat().st_size > 10_000
