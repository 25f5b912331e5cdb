"""Source freshness in the gold gate: the thresholds dbt declares, the age counted to the run date's end."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from databank.config import load_settings
from databank.dbt_project import dbt_work_dir
from databank.quality.freshness import declared_freshness, freshness_batches
from databank.quality.runner import run_checkpoint

RUN_DATE = date(2026, 5, 10)
DAILY = {"warn_after": {"count": 1, "period": "day"}, "error_after": {"count": 7, "period": "day"}}
UNSET = {"warn_after": {"count": None, "period": None}, "error_after": {"count": None, "period": None}}

SILVER = """
CREATE SCHEMA silver;
CREATE TABLE silver.online_orders AS SELECT DATE '2026-05-10' AS dt UNION ALL SELECT DATE '2026-05-09';
CREATE TABLE silver.pos_transactions AS SELECT DATE '2026-05-07' AS dt;
CREATE TABLE silver.lbs_pings AS SELECT DATE '2026-05-02' AS dt;
CREATE TABLE silver.online_events (dt DATE);
CREATE TABLE silver.media_exposures AS SELECT DATE '2026-04-01' AS dt;
CREATE TABLE silver.members AS SELECT DATE '2026-05-05' AS dt;
CREATE TABLE silver.stores AS SELECT DATE '2026-01-01' AS dt;
"""


def _source(table: str, freshness: dict, schema: str = "silver") -> dict:
    loaded_at = "cast(dt as timestamp)" if freshness is not UNSET else None
    return {"schema": schema, "identifier": table, "loaded_at_field": loaded_at, "freshness": freshness}


@pytest.fixture
def settings(tmp_path):
    """A brand without media, and a manifest declaring what the dbt project's sources declare."""
    settings = load_settings(
        data_dir=tmp_path,
        pipeline={
            "required_feeds": ["online_orders", "online_events", "pos_transactions", "lbs_pings", "members"],
            "optional_feeds": ["stores"],
        },
    )
    weekly = {"warn_after": {"count": 168, "period": "hour"}, "error_after": {"count": None, "period": None}}
    sources = [
        _source("online_orders", DAILY),
        _source("online_events", DAILY),
        _source("pos_transactions", DAILY),
        _source("lbs_pings", DAILY),
        _source("media_exposures", DAILY),
        _source("members", weekly),
        _source("stores", UNSET),
    ]
    target = dbt_work_dir(settings.reports) / "target"
    target.mkdir(parents=True)
    manifest = {"sources": {f"source.databank.x.{s['identifier']}": s for s in sources}}
    (target / "manifest.json").write_text(json.dumps(manifest))
    return settings


def _outcomes(settings, con) -> dict:
    [batch] = freshness_batches(con, RUN_DATE, settings)
    found = run_checkpoint(batch.suite, batch.frame, batch.asset)
    return {o.expectation: (o.success, o.severity, o.observed_value) for o in found}


def test_ages_count_to_the_end_of_the_run_date_against_the_declared_thresholds(settings):
    with duckdb.connect() as con:
        con.execute(SILVER)
        outcomes = _outcomes(settings, con)

    # Rows of the run date are a day old at its end: fresh.
    assert outcomes["fresh(online_orders)"][:2] == (True, "warning")
    assert outcomes["not_stale(online_orders)"][0] is True
    # Newest rows three days before the run date: four days old, past a day, within a week.
    assert outcomes["fresh(pos_transactions)"] == (False, "warning", "4.0")
    assert outcomes["not_stale(pos_transactions)"][0] is True
    # Eight days old: past error_after, which stops the night.
    assert outcomes["not_stale(lbs_pings)"] == (False, "critical", "9.0")
    # Thresholds in hours are read as such: 168 hours, and the members' newest rows are 6 days old.
    assert outcomes["fresh(members)"][0] is True


def test_a_table_without_rows_is_undelivered_and_has_no_age_to_judge(settings):
    with duckdb.connect() as con:
        con.execute(SILVER)
        outcomes = _outcomes(settings, con)

    assert outcomes["delivered(online_events)"][:2] == (False, "warning")
    assert "fresh(online_events)" not in outcomes
    assert "not_stale(online_events)" not in outcomes
    assert outcomes["delivered(online_orders)"][0] is True


def test_only_declared_sources_of_feeds_the_brand_has_are_checked(settings):
    with duckdb.connect() as con:
        con.execute(SILVER)
        outcomes = _outcomes(settings, con)

    tables = {name.split("(")[1].rstrip(")") for name in outcomes}
    # media: declared, but not the brand's feed; stores: the brand's, but declares no freshness.
    assert tables == {"online_orders", "online_events", "pos_transactions", "lbs_pings", "members"}


def test_a_source_missing_from_silver_counts_as_undelivered(settings):
    with duckdb.connect() as con:
        con.execute(
            "CREATE SCHEMA silver; CREATE TABLE silver.online_orders AS SELECT DATE '2026-05-10' AS dt"
        )
        outcomes = _outcomes(settings, con)

    assert outcomes["delivered(pos_transactions)"][0] is False
    assert outcomes["fresh(online_orders)"][0] is True


def test_severity_overrides_reach_the_freshness_rules(settings):
    settings = settings.model_copy(
        update={
            "quality": settings.quality.model_copy(
                update={"severity": {"gold.sources:not_stale(*)": "warning"}}
            )
        }
    )
    with duckdb.connect() as con:
        con.execute(SILVER)
        outcomes = _outcomes(settings, con)

    assert outcomes["not_stale(lbs_pings)"][:2] == (False, "warning")


def test_without_a_manifest_nothing_is_declared_or_checked(tmp_path):
    settings = load_settings(data_dir=tmp_path)

    assert declared_freshness(tmp_path / "manifest.json") == []
    with duckdb.connect() as con:
        assert freshness_batches(con, RUN_DATE, settings) == []
