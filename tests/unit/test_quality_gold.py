"""Gold suites on a tiny warehouse: one brand, two days, three consumers whose states and flows add up.

Day 1: two consumers in A, one in I. Day 2: one stayed in A, one moved from A to P, one stayed in I.
A week before day 2 nobody had a state, so the 7-day flows are all new inflow.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from databank.config import load_settings
from databank.quality.gates import QualityGateError, check_gold

DAY_1, DAY_2 = date(2026, 5, 1), date(2026, 5, 2)

WAREHOUSE = """
CREATE SCHEMA marts;
CREATE TABLE marts.aipl_daily_funnel AS SELECT * FROM (VALUES
    ('B1', DATE '2026-05-01', 0, 2, 1, 0, 0, 3, 0.5, 0.0, NULL),
    ('B1', DATE '2026-05-02', 0, 1, 1, 1, 0, 3, 1.0, 1.0, 0.0)
) AS t(brand_id, funnel_date, consumers_o, consumers_a, consumers_i, consumers_p, consumers_l,
       asset_total, rate_a_to_i, rate_i_to_p, rate_p_to_l);
CREATE TABLE marts.aipl_flow AS SELECT * FROM (VALUES
    ('B1', DATE '2026-05-01', DATE '2026-05-02', 1, 'A', 'A', 1),
    ('B1', DATE '2026-05-01', DATE '2026-05-02', 1, 'A', 'P', 1),
    ('B1', DATE '2026-05-01', DATE '2026-05-02', 1, 'I', 'I', 1),
    ('B1', DATE '2026-04-25', DATE '2026-05-02', 7, 'none', 'A', 1),
    ('B1', DATE '2026-04-25', DATE '2026-05-02', 7, 'none', 'I', 1),
    ('B1', DATE '2026-04-25', DATE '2026-05-02', 7, 'none', 'P', 1)
) AS t(brand_id, d0, d1, lag_days, state_d0, state_d1, consumers);
CREATE TABLE marts.aipl_state_history AS SELECT * FROM (VALUES
    ('c1', 'B1', 'A', DATE '2026-05-01', NULL),
    ('c2', 'B1', 'A', DATE '2026-05-01', DATE '2026-05-02'),
    ('c2', 'B1', 'P', DATE '2026-05-02', NULL),
    ('c3', 'B1', 'I', DATE '2026-05-01', NULL)
) AS t(one_id, brand_id, state, valid_from, valid_to);
CREATE SCHEMA silver;
CREATE TABLE silver.one_id_history (old_one_id VARCHAR, new_one_id VARCHAR, cause VARCHAR, day DATE);
CREATE TABLE marts.aipl_flow_metrics AS SELECT * FROM (VALUES
    ('B1', DATE '2026-05-01', DATE '2026-05-02', 1, 'A', 2, 1, 1, 0, 0, 0, 0.0),
    ('B1', DATE '2026-05-01', DATE '2026-05-02', 1, 'I', 1, 1, 0, 0, 0, 0, 0.0),
    ('B1', DATE '2026-04-25', DATE '2026-05-02', 7, 'A', 0, 0, 0, 0, 0, 1, NULL),
    ('B1', DATE '2026-04-25', DATE '2026-05-02', 7, 'I', 0, 0, 0, 0, 0, 1, NULL),
    ('B1', DATE '2026-04-25', DATE '2026-05-02', 7, 'P', 0, 0, 0, 0, 0, 1, NULL)
) AS t(brand_id, d0, d1, lag_days, state, consumers_d0, stayed, converted_up, converted_down,
       churned, new_inflow, next_layer_rate);
CREATE TABLE marts.fct_touchpoints AS SELECT * FROM (VALUES
    ('t1', 'c1', 'online_events', 'e1', DATE '2026-05-01', DATE '2026-05-01'),
    ('t2', 'c2', 'online_orders', 'o1', DATE '2026-05-02', DATE '2026-05-02'),
    ('t3', 'c3', 'media_exposures', 'x1', DATE '2026-05-01', DATE '2026-05-02')
) AS t(touchpoint_id, one_id, source_feed, source_record_id, touched_date, loaded_date);
CREATE TABLE marts.brand_fast_daily AS
    SELECT DATE '2026-05-02' AS fast_date, 0.5 AS deepening_rate, 0.2 AS thriving_rate, 1.5 AS advancing_rate;
CREATE TABLE marts.identity_resolution_daily AS
    SELECT DATE '2026-05-02' AS counted_on_date, 0.9 AS resolution_rate, 0.6 AS identification_rate;
CREATE TABLE marts.campaign_performance AS
    SELECT DATE '2026-05-02' AS as_of_date, 0.01 AS click_through_rate, 0.3 AS exposed_move_rate,
        0.2 AS control_move_rate, NULL::DOUBLE AS coupon_redemption_rate, 1.0 AS sample_to_purchase_rate;
"""


@pytest.fixture
def settings(tmp_path):
    return load_settings(data_dir=tmp_path)


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(WAREHOUSE)
    return path


def broken(warehouse, statement: str):
    with duckdb.connect(str(warehouse)) as con:
        con.execute(statement)
    return warehouse


def critical_failures(settings, warehouse, day=DAY_2) -> list[str]:
    with pytest.raises(QualityGateError) as failure:
        check_gold(settings, warehouse, day)
    return failure.value.report.failed_critical


def test_gold_suites_pass_on_marts_that_add_up(settings, warehouse):
    report = check_gold(settings, warehouse, DAY_2)

    assert (report.failed_critical, report.failed_warning) == ([], [])
    assert report.checked > 20


def test_a_broken_flow_identity_stops_the_night(settings, warehouse):
    broken(warehouse, "UPDATE marts.aipl_flow_metrics SET churned = 1 WHERE lag_days = 1 AND state = 'A'")

    assert critical_failures(settings, warehouse) == ["gold.flow:flow_identity_d0"]


def test_a_flow_matrix_that_disagrees_with_the_funnel_stops_the_night(settings, warehouse):
    broken(warehouse, "UPDATE marts.aipl_flow SET consumers = 2 WHERE lag_days = 7 AND state_d1 = 'P'")

    assert critical_failures(settings, warehouse) == ["gold.flow:flow_identity_d1"]


def test_a_merge_between_d0_and_d1_counts_the_d0_states_under_the_surviving_consumer(settings, warehouse):
    # c4, in A on day 1, merged into c1 (A) on day 2: the funnel of day 1 counts both ids, the flow
    # one consumer, A -> A, as its d0 margin does.
    broken(
        warehouse,
        """
        INSERT INTO marts.aipl_state_history VALUES ('c4', 'B1', 'A', DATE '2026-05-01', DATE '2026-05-02');
        INSERT INTO silver.one_id_history VALUES ('c4', 'c1', 'merge', DATE '2026-05-02');
        UPDATE marts.aipl_daily_funnel SET consumers_a = 3, asset_total = 4
            WHERE funnel_date = DATE '2026-05-01';
        """,
    )

    report = check_gold(settings, warehouse, DAY_2)

    assert (report.failed_critical, report.failed_warning) == ([], [])


def test_a_flow_d0_margin_that_disagrees_with_the_states_followed_stops_the_night(settings, warehouse):
    # The matrix counts c3 (I on day 1) twice at d0, though the flow identity still holds.
    broken(
        warehouse,
        "UPDATE marts.aipl_flow_metrics SET consumers_d0 = 2, stayed = 2 WHERE lag_days = 1 AND state = 'I'",
    )

    assert critical_failures(settings, warehouse) == ["gold.flow:flow_d0_matches_states_followed"]


def test_a_split_gives_the_part_split_off_the_d0_state_of_the_id_it_left(settings, warehouse):
    # c5 split off c3 (I on day 1) on day 2 and is in A: I -> A, one more consumer with a state at d0.
    broken(
        warehouse,
        """
        INSERT INTO marts.aipl_state_history VALUES ('c5', 'B1', 'A', DATE '2026-05-02', NULL);
        INSERT INTO silver.one_id_history VALUES ('c3', 'c5', 'split', DATE '2026-05-02');
        INSERT INTO marts.aipl_flow VALUES ('B1', DATE '2026-05-01', DATE '2026-05-02', 1, 'I', 'A', 1);
        UPDATE marts.aipl_flow_metrics SET consumers_d0 = 2, converted_down = 1
            WHERE lag_days = 1 AND state = 'I';
        INSERT INTO marts.aipl_flow VALUES ('B1', DATE '2026-04-25', DATE '2026-05-02', 7, 'none', 'A', 1);
        UPDATE marts.aipl_flow_metrics SET new_inflow = 2 WHERE lag_days = 7 AND state = 'A';
        UPDATE marts.aipl_daily_funnel SET consumers_a = 2, asset_total = 4
            WHERE funnel_date = DATE '2026-05-02';
        """,
    )

    report = check_gold(settings, warehouse, DAY_2)

    assert (report.failed_critical, report.failed_warning) == ([], [])


def test_states_that_do_not_sum_to_the_asset_total_stop_the_night(settings, warehouse):
    broken(
        warehouse, "UPDATE marts.aipl_daily_funnel SET asset_total = 4 WHERE funnel_date = DATE '2026-05-02'"
    )

    assert critical_failures(settings, warehouse) == ["gold.funnel:states_sum_to_asset_total"]


def test_a_duplicated_day_stops_the_night(settings, warehouse):
    broken(
        warehouse,
        "INSERT INTO marts.aipl_daily_funnel "
        "SELECT * FROM marts.aipl_daily_funnel WHERE funnel_date = DATE '2026-05-01'",
    )

    assert "gold.funnel:one_row_per_brand_and_day" in critical_failures(settings, warehouse)


def test_a_missing_day_stops_the_night(settings, warehouse):
    with pytest.raises(QualityGateError) as failure:
        check_gold(settings, warehouse, date(2026, 5, 3))  # the funnel ends the day before

    assert {"gold.funnel_days:no_missing_day", "gold.funnel:fresh(funnel_date)"} <= set(
        failure.value.report.failed_critical
    )
    assert failure.value.observed["gold.funnel:fresh(funnel_date)"] == "2026-05-02"


def test_a_night_without_touchpoints_of_its_day_is_stale(settings, warehouse):
    broken(warehouse, "DELETE FROM marts.fct_touchpoints WHERE touched_date = DATE '2026-05-02'")

    assert critical_failures(settings, warehouse) == ["gold.touchpoints:fresh(touched_date)"]


def test_a_touchpoint_without_consumer_or_source_fails_whatever_its_day(settings, warehouse):
    broken(
        warehouse,
        "UPDATE marts.fct_touchpoints SET one_id = NULL, source_record_id = NULL WHERE touchpoint_id = 't1'",
    )

    assert critical_failures(settings, warehouse) == [
        "gold.touchpoints:has_one_id",
        "gold.touchpoints:has_source_record",
    ]


def test_a_share_above_one_stops_the_night_but_a_ratio_may_exceed_it(settings, warehouse):
    broken(warehouse, "UPDATE marts.identity_resolution_daily SET identification_rate = 1.2")

    assert critical_failures(settings, warehouse) == ["gold.rates:share(identification_rate)"]


def test_a_mart_missing_from_the_build_fails_its_suite(settings, warehouse):
    broken(warehouse, "DROP TABLE marts.fct_touchpoints")

    failures = critical_failures(settings, warehouse)

    assert failures
    assert all(name.startswith("gold.touchpoints:") for name in failures)


def test_a_rule_can_be_made_a_warning(tmp_path, warehouse):
    settings = load_settings(data_dir=tmp_path, quality={"severity": {"gold.rates:*": "warning"}})
    broken(warehouse, "UPDATE marts.identity_resolution_daily SET identification_rate = 1.2")

    report = check_gold(settings, warehouse, DAY_2)

    assert (report.failed_critical, report.failed_warning) == ([], ["gold.rates:share(identification_rate)"])
