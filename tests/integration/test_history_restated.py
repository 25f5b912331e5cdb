"""History as known each night: the nights keep it, a full refresh gives it back, and only an explicit
restatement rewrites earlier days under today's consumer ids (docs/aipl.md, "History")."""

from __future__ import annotations

import shutil
from datetime import timedelta

import duckdb
import pytest
from delta_reading import DAYS, START

from databank.config import Settings, load_settings
from databank.marts import build_marts

pytestmark = pytest.mark.slow
TONIGHT = START + timedelta(days=DAYS - 1)
FUNNEL_ON = "SELECT * FROM marts.aipl_daily_funnel WHERE funnel_date = ? ORDER BY brand_id"


@pytest.fixture(scope="module")
def histories(resolved, published, module_tmp):
    """The same silver built three ways: night by night and restated, each into its own lakehouse copy,
    and with a full refresh (the suite's published warehouse). Returns their settings and the first
    day's funnel as its night published it."""

    def lakehouse(name: str) -> Settings:
        settings = load_settings(data_dir=module_tmp(name), hmac_key="integration-key")
        shutil.copytree(resolved[0].lakehouse / "silver", settings.lakehouse / "silver")
        return settings

    nightly = lakehouse("nightly")
    build_marts(nightly, START)
    with duckdb.connect(str(nightly.warehouse), read_only=True) as con:
        first_night_funnel = con.execute(FUNNEL_ON, [START]).fetchall()
    for offset in range(1, DAYS):
        build_marts(nightly, START + timedelta(days=offset))

    refreshed, refresh = published
    assert refresh.nights == tuple(START + timedelta(days=offset) for offset in range(DAYS))
    restated = lakehouse("restated")
    assert build_marts(restated, TONIGHT, restate=True).restated
    return nightly, refreshed, restated, first_night_funnel


def differing_rows(con: duckdb.DuckDBPyConnection, query: str, other: str, parameters=()) -> int:
    symmetric_difference = f"(({query}) EXCEPT ALL ({other})) UNION ALL (({other}) EXCEPT ALL ({query}))"
    return con.execute(f"SELECT count(*) FROM ({symmetric_difference})", list(parameters) * 4).fetchone()[0]


def test_later_merges_leave_an_earlier_days_funnel_as_its_night_published_it(histories):
    nightly, _, _, first_night_funnel = histories

    with duckdb.connect(str(nightly.warehouse), read_only=True) as con:
        merged_later = con.execute(
            "SELECT count(*) FROM silver.one_id_history WHERE cause = 'merge' AND CAST(day AS DATE) > ?",
            [START],
        ).fetchone()[0]
        funnel_now = con.execute(FUNNEL_ON, [START]).fetchall()

    assert merged_later > 0  # OneID merged ids on the nights after the first
    assert first_night_funnel
    assert funnel_now == first_night_funnel


def test_a_full_refresh_gives_back_every_mart_the_nights_published(histories):
    nightly, refreshed, _, _ = histories

    with duckdb.connect(str(nightly.warehouse), read_only=True) as con:
        con.execute(f"ATTACH '{refreshed.warehouse}' AS refreshed (READ_ONLY)")
        marts = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = 'marts' ORDER BY 1"
            ).fetchall()
        ]
        differ = {
            name: differing_rows(con, f"SELECT * FROM marts.{name}", f"SELECT * FROM refreshed.marts.{name}")
            for name in marts
        }

    assert {"aipl_state_history", "aipl_daily_funnel", "aipl_flow", "fct_touchpoints"} <= set(differ)
    assert {name: rows for name, rows in differ.items() if rows} == {}


def test_a_restatement_rewrites_earlier_days_under_todays_ids_but_not_tonights_states(histories):
    nightly, _, restated, _ = histories
    merged_away_on_the_first_day = (
        "SELECT DISTINCT spells.one_id FROM {db}marts.aipl_state_history AS spells "
        "INNER JOIN silver.one_id_history AS changes ON spells.one_id = changes.old_one_id "
        "WHERE changes.cause = 'merge' AND CAST(changes.day AS DATE) > $1 "
        "AND spells.valid_from <= $1 AND (spells.valid_to IS NULL OR spells.valid_to > $1)"
    )
    holds_tonight = (
        "SELECT one_id, brand_id, state FROM {db}marts.aipl_state_history "
        "WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)"
    )

    with duckdb.connect(str(nightly.warehouse), read_only=True) as con:
        con.execute(f"ATTACH '{restated.warehouse}' AS restated (READ_ONLY)")
        known = con.execute(merged_away_on_the_first_day.format(db=""), [START]).fetchall()
        restated_ids = con.execute(merged_away_on_the_first_day.format(db="restated."), [START]).fetchall()
        first_day = con.execute(FUNNEL_ON, [START]).fetchall()
        first_day_restated = con.execute(FUNNEL_ON.replace("marts.", "restated.marts."), [START]).fetchall()
        tonight_differs = con.execute(
            f"SELECT count(*) FROM ((({holds_tonight.format(db='')}) EXCEPT ALL "
            f"({holds_tonight.format(db='restated.')})) UNION ALL "
            f"(({holds_tonight.format(db='restated.')}) EXCEPT ALL ({holds_tonight.format(db='')})))",
            [TONIGHT],
        ).fetchone()[0]

    # As known, ids OneID merged away later held states on the first day; restated, they never existed
    assert known
    assert restated_ids == []
    # so the first day's funnel is rewritten, while tonight's states are the same either way
    assert first_day_restated != first_day
    assert tonight_differs == 0
