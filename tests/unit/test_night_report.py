"""The night report reads the published warehouse: the funnel per brand by display name, the week's
flow only once a week of history exists, identification with all feeds last."""

from datetime import date, timedelta

import duckdb
import pytest

from databank.night_report import NothingPublishedError, night_report

DAYS = [date(2026, 5, d) for d in range(1, 10)]


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "databank.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.dim_brands AS SELECT 'B01' AS brand_id, '山岚' AS brand_name")
        con.execute(
            "CREATE TABLE marts.aipl_daily_funnel (brand_id VARCHAR, funnel_date DATE, consumers_o INT, "
            "consumers_a INT, consumers_i INT, consumers_p INT, consumers_l INT, asset_total INT, "
            "rate_a_to_i DOUBLE, rate_i_to_p DOUBLE, rate_p_to_l DOUBLE)"
        )
        for day in DAYS:
            for brand in ("B01", "B02"):
                con.execute(
                    "INSERT INTO marts.aipl_daily_funnel VALUES (?, ?, 1, 10, 4, 2, 1, 17, 0.4, 0.5, 0.5)",
                    [brand, day],
                )
        con.execute(
            "CREATE TABLE marts.aipl_flow_metrics (brand_id VARCHAR, d0 DATE, d1 DATE, lag_days INT, "
            "state VARCHAR, consumers_d0 INT, stayed INT, converted_up INT, converted_down INT, churned INT, "
            "new_inflow INT, next_layer_rate DOUBLE)"
        )
        for d1 in DAYS[6:]:  # the flow into 05-07 starts before the history (04-30): not a week's flow
            for state in "LPIA":
                con.execute(
                    "INSERT INTO marts.aipl_flow_metrics VALUES ('B01', ?, ?, 7, ?, 5, 3, 1, 0, 1, 2, 0.2)",
                    [d1 - timedelta(days=7), d1, state],
                )
        con.execute(
            "CREATE TABLE marts.identity_resolution_daily AS SELECT * FROM (VALUES "
            "('all', DATE '2026-05-09', 30, 0.9, 0.6), ('lbs_pings', DATE '2026-05-09', 20, 1.0, 0.5), "
            "('online_events', DATE '2026-05-09', 10, 0.7, 0.8)) "
            "AS t(source_feed, record_date, records, resolution_rate, identification_rate)"
        )
    return path


def test_the_latest_day_by_default_with_brand_names_where_the_dimension_has_them(warehouse):
    report = night_report(warehouse)

    assert report.day == DAYS[-1]
    assert [(row["brand"], row["a"], row["asset_total"]) for row in report.funnel] == [
        ("山岚", 10, 17),
        ("B02", 10, 17),
    ]


def test_the_weeks_flow_in_funnel_order_once_a_week_of_history_exists(warehouse):
    assert [row["state"] for row in night_report(warehouse).flow] == ["A", "I", "P", "L"]
    assert night_report(warehouse, DAYS[7]).flow[0]["d0"] == DAYS[0]
    assert night_report(warehouse, DAYS[6]).flow == []


def test_identification_lists_feeds_by_volume_and_all_feeds_last(warehouse):
    feeds = [row["source_feed"] for row in night_report(warehouse).identification]

    assert feeds == ["lbs_pings", "online_events", "all"]


def test_no_warehouse_yet_is_said_plainly(tmp_path):
    with pytest.raises(NothingPublishedError, match="no night has been published yet"):
        night_report(tmp_path / "missing.duckdb")
