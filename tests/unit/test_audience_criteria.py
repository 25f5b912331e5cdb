"""Each criterion of a definition matches exactly the consumers its rule names, with values bound."""

from datetime import timedelta

import duckdb
import pytest
from audience_warehouse import RUN_DAY, build_warehouse, located, spell, touch

from databank.audiences import AudienceDefinition, AudienceError, compile_audience


def _matched(warehouse, run_date=RUN_DAY, **criteria) -> set[str]:
    definition = AudienceDefinition(brand_id="B1", purpose="marketing", **criteria)
    compiled = compile_audience(definition, run_date, "has_marketing_consent")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {row[0] for row in con.execute(compiled.sql, compiled.parameters).fetchall()}


@pytest.fixture
def states_warehouse(tmp_path):
    return build_warehouse(
        tmp_path / "w.duckdb",
        consumers=("c_never",),
        spells=(
            spell("c_loyal", "L"),
            spell("c_interest", "I"),
            spell("c_ended", "I", until=RUN_DAY),
            spell("c_other_brand", "L", brand_id="B2"),
            spell("c_fell", "L", until=RUN_DAY - timedelta(days=3)),
            spell("c_fell", "P", since=RUN_DAY - timedelta(days=3)),
            spell("c_new_loyal", "L", since=RUN_DAY - timedelta(days=5)),
        ),
    )


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["L", "I"], {"c_loyal", "c_interest", "c_new_loyal"}),
        (["P"], {"c_fell"}),
        (["none"], {"c_never", "c_ended", "c_other_brand"}),
    ],
)
def test_states_are_read_on_the_run_day_for_the_brand(states_warehouse, states, expected):
    assert _matched(states_warehouse, aipl_states=states) == expected


def test_a_flow_cell_compares_the_run_day_with_lag_days_before(states_warehouse):
    fell = _matched(states_warehouse, aipl_flow={"state_d0": "L", "state_d1": "P", "lag_days": 7})
    churned = _matched(states_warehouse, aipl_flow={"state_d0": "I", "state_d1": "none", "lag_days": 1})
    entered = _matched(states_warehouse, aipl_flow={"state_d0": "none", "state_d1": "L", "lag_days": 7})

    assert fell == {"c_fell"}
    assert churned == {"c_ended"}
    assert entered == {"c_new_loyal"}


def test_lifecycle_and_rfm_classes_of_the_brand(tmp_path):
    warehouse = build_warehouse(
        tmp_path / "w.duckdb",
        lifecycle=(("c1", "B1", "at_risk"), ("c2", "B1", "new"), ("c3", "B2", "at_risk")),
        rfm=(
            ("c1", "B1", "important_value"),
            ("c2", "B1", "important_retention"),
            ("c3", "B2", "important_value"),
        ),
    )

    assert _matched(warehouse, lifecycle_stages=["at_risk", "dormant"]) == {"c1"}
    assert _matched(warehouse, rfm_classes=["important_value"]) == {"c1"}
    assert _matched(warehouse, lifecycle_stages=["new"], rfm_classes=["important_retention"]) == {"c2"}


def test_trade_area_rings_place_a_consumer_by_the_nearer_of_home_and_work(tmp_path):
    warehouse = build_warehouse(
        tmp_path / "w.duckdb",
        locations=(
            located("c_ring1", 2.9),
            located("c_ring2", 3.1),
            located("c_far", 5.2),
            located("c_both", 4.0, "home"),
            located("c_both", 1.0, "work"),
            located("c_at_store", 0.0),
        ),
    )

    assert _matched(warehouse, trade_area={"store_id": "S1", "rings": [1]}) == {
        "c_ring1",
        "c_both",
        "c_at_store",
    }
    assert _matched(warehouse, trade_area={"store_id": "S1", "rings": [2]}) == {"c_ring2"}
    assert "c_far" not in _matched(warehouse, trade_area={"store_id": "S1", "rings": [1, 2]})


def test_campaign_exposure_by_behaviour_and_window(tmp_path):
    warehouse = build_warehouse(
        tmp_path / "w.duckdb",
        touches=(
            touch("c_click", "click", campaign_id="K1"),
            touch("c_seen", "impression", RUN_DAY - timedelta(days=13), campaign_id="K1"),
            touch("c_long_ago", "click", RUN_DAY - timedelta(days=14), campaign_id="K1"),
            touch("c_other_campaign", "click", campaign_id="K2", brand_id="B2"),
        ),
    )

    def exposed(**exposure):
        return _matched(warehouse, campaign_exposure={"campaign_id": "K1", **exposure})

    assert exposed() == {"c_click", "c_seen", "c_long_ago"}
    assert exposed(behaviours=["click"]) == {"c_click", "c_long_ago"}
    assert exposed(within_days=14) == {"c_click", "c_seen"}
    assert _matched(
        warehouse, run_date=RUN_DAY - timedelta(days=1), campaign_exposure={"campaign_id": "K1"}
    ) == {
        "c_seen",
        "c_long_ago",
    }


def test_last_seen_counts_touchpoints_of_the_brand_within_the_window(tmp_path):
    warehouse = build_warehouse(
        tmp_path / "w.duckdb",
        spells=(spell("c_recent", "I"), spell("c_stale", "I"), spell("c_elsewhere", "I")),
        touches=(
            touch("c_recent", "page_view", RUN_DAY - timedelta(days=6)),
            touch("c_stale", "page_view", RUN_DAY - timedelta(days=7)),
            touch("c_elsewhere", "page_view", RUN_DAY, brand_id="B2"),
        ),
    )

    assert _matched(warehouse, last_seen_within_days=7) == {"c_recent"}
    assert _matched(warehouse, last_seen_within_days=8) == {"c_recent", "c_stale"}


def test_criteria_combine_with_and(tmp_path):
    warehouse = build_warehouse(
        tmp_path / "w.duckdb",
        spells=(spell("c_both", "I"), spell("c_state_only", "I"), spell("c_touch_only", "A")),
        touches=(touch("c_both", "favorite"), touch("c_touch_only", "favorite")),
    )

    assert _matched(warehouse, aipl_states=["I"], last_seen_within_days=1) == {"c_both"}


def test_values_reach_the_query_as_parameters_never_as_sql_text():
    definition = AudienceDefinition(
        brand_id="BRAND--x",
        purpose="marketing",
        aipl_flow={"state_d0": "L", "state_d1": "P", "lag_days": 7},
        lifecycle_stages=["at_risk"],
        rfm_classes=["important_winback"],
        trade_area={"store_id": "STORE.x", "rings": [2]},
        campaign_exposure={"campaign_id": "CAMPAIGN:x", "behaviours": ["click"], "within_days": 3},
        last_seen_within_days=9,
    )

    compiled = compile_audience(definition, RUN_DAY, "has_ad_targeting_consent")

    for value in ("BRAND--x", "STORE.x", "CAMPAIGN:x", "at_risk", "important_winback", "2026-05"):
        assert value not in compiled.sql
    assert compiled.parameters["brand_id"] == "BRAND--x"
    assert compiled.parameters["trade_area_store_id"] == "STORE.x"
    assert compiled.parameters["campaign_id"] == "CAMPAIGN:x"
    assert "has_ad_targeting_consent" in compiled.sql


def test_only_a_whitelisted_consent_column_enters_the_sql():
    definition = AudienceDefinition(brand_id="B1", purpose="marketing", aipl_states=["I"])

    with pytest.raises(AudienceError, match="is no consent flag"):
        compile_audience(definition, RUN_DAY, "has_marketing_consent or true")
