"""A definition that names what the warehouse does not hold fails with a message, not an empty audience."""

from datetime import timedelta

import pytest
from audience_warehouse import FIRST_DAY, RUN_DAY, audience_settings, build_warehouse, spell, write_audience

from databank.audiences import AudienceError, size_audience


@pytest.fixture
def settings(tmp_path):
    warehouse = build_warehouse(
        tmp_path / "w.duckdb",
        spells=(spell("c1", "I"),),
        lifecycle=(("c1", "B1", "new"),),
        rfm=(("c1", "B1", "important_value"),),
    )
    return audience_settings(tmp_path, warehouse)


def _size_error(settings, criteria: str, brand_id: str = "B1", run_date=None) -> str:
    write_audience(settings, "probe", f"brand_id: {brand_id}\npurpose: marketing\n{criteria}\n")
    with pytest.raises(AudienceError) as raised:
        size_audience(settings, "probe", run_date)
    return str(raised.value)


@pytest.mark.parametrize(
    ("brand_id", "criteria", "expected"),
    [
        ("B9", "aipl_states: [I]", "brand_id: no brand 'B9' (known: B1, B2)"),
        ("B1", "trade_area: {store_id: S7, rings: [1]}", "no store 'S7' (stores of the brand: S1)"),
        ("B1", "trade_area: {store_id: S2, rings: [1]}", "store 'S2' is of brand 'B2', not 'B1'"),
        ("B1", "trade_area: {store_id: S1, rings: [1, 3]}", "store 'S1' has no ring 3 (it has 1, 2)"),
        ("B1", "campaign_exposure: {campaign_id: K7}", "no campaign 'K7' (the brand's: K1)"),
        ("B1", "campaign_exposure: {campaign_id: K2}", "campaign 'K2' is of brand 'B2', not 'B1'"),
        ("B1", "aipl_flow: {state_d0: L, state_d1: P, lag_days: 14}", "no lag of 14 days (known: 1, 7, 30)"),
    ],
)
def test_unknown_ids_rings_and_lags_are_named(settings, brand_id, criteria, expected):
    assert expected in _size_error(settings, criteria, brand_id)


def test_every_problem_is_listed_at_once(settings):
    message = _size_error(
        settings,
        "trade_area: {store_id: S7, rings: [1]}\ncampaign_exposure: {campaign_id: K7}",
        brand_id="B9",
    )

    assert "no brand 'B9'" in message
    assert "no store 'S7'" in message
    assert "no campaign 'K7'" in message


def test_a_run_day_outside_the_funnel_is_refused(settings):
    message = _size_error(settings, "aipl_states: [I]", run_date=FIRST_DAY - timedelta(days=1))

    assert f"outside the days the warehouse holds ({FIRST_DAY} to {RUN_DAY})" in message


@pytest.mark.parametrize(
    ("criteria", "mart"),
    [
        ("lifecycle_stages: [new]", "consumer_lifecycle"),
        ("rfm_classes: [important_value]", "consumer_rfm"),
        ("trade_area: {store_id: S1, rings: [1]}", "store_trade_areas"),
    ],
)
def test_snapshot_criteria_hold_only_on_the_day_their_mart_was_built(settings, criteria, mart):
    message = _size_error(settings, criteria, run_date=RUN_DAY - timedelta(days=1))

    assert f"{mart} is known only as of {RUN_DAY}" in message


def test_dated_criteria_may_be_read_on_an_earlier_day(settings):
    write_audience(settings, "interest", "brand_id: B1\npurpose: marketing\naipl_states: [I]\n")

    size = size_audience(settings, "interest", RUN_DAY - timedelta(days=3))

    assert size.run_date == RUN_DAY - timedelta(days=3)
    assert size.matched == 1


def test_a_definition_naming_only_what_exists_passes_every_check(settings):
    write_audience(
        settings,
        "everything",
        "brand_id: B1\npurpose: ad_targeting\n"
        "aipl_flow: {state_d0: none, state_d1: I, lag_days: 30}\n"
        "lifecycle_stages: [new]\nrfm_classes: [important_value]\n"
        "trade_area: {store_id: S1, rings: [1, 2]}\n"
        "campaign_exposure: {campaign_id: K1, within_days: 7}\n"
        "last_seen_within_days: 30\n",
    )

    size = size_audience(settings, "everything")

    assert (size.run_date, size.matched) == (RUN_DAY, 0)
