"""Two nights of marts built with dbt over the resolved silver and published: warehouse and gold."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest
from delta_reading import DAYS, START, changed_tables, warehouse_checksums
from deltalake import DeltaTable

from databank.config import load_settings
from databank.gold_tables import GOLD_PARTITIONS
from databank.marts import build_marts

LAST_NIGHT, TONIGHT = START + timedelta(days=DAYS - 2), START + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def nights(resolved, module_tmp):
    """Last night built from scratch, then tonight incrementally; the settings and both results."""
    resolved_settings, _, _ = resolved
    settings = load_settings(
        data_dir=module_tmp("publish"),
        lakehouse_dir=resolved_settings.lakehouse,
        hmac_key="integration-key",
    )
    first = build_marts(settings, LAST_NIGHT, full_refresh=True)
    second = build_marts(settings, TONIGHT)
    return settings, first, second


def test_each_night_publishes_every_mart_and_every_dbt_test_passes(nights):
    settings, first, second = nights
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        marts = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            ).fetchall()
        }
        touch_days = {
            row[0] for row in con.execute("SELECT DISTINCT loaded_date FROM marts.fct_touchpoints").fetchall()
        }

    assert {"fct_touchpoints", "aipl_state_history", "dim_consumers"} <= marts
    assert {t.name for t in second.tables} == marts
    assert second.dbt_statuses.get("success", 0) > 0  # models
    assert second.dbt_statuses.get("pass", 0) > 0  # data and unit tests
    assert {LAST_NIGHT, TONIGHT} <= touch_days
    assert not settings.warehouse.with_name("databank.build.duckdb").exists()
    assert (first.run_date, second.run_date) == (LAST_NIGHT, TONIGHT)


def test_gold_holds_exactly_the_warehouse_marts(nights):
    settings, _, second = nights
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        for table in second.tables:
            columns = ", ".join(
                f'"{row[0]}"' for row in con.execute(f"DESCRIBE marts.{table.name}").fetchall()
            )
            files = DeltaTable(str(table.gold_path)).file_uris()
            gold = f"(SELECT {columns} FROM read_parquet({files!r}, hive_partitioning = true))"
            warehouse = f"(SELECT {columns} FROM marts.{table.name})"
            if not files:  # an empty mart is written as a Delta table without files
                assert con.execute(f"SELECT count(*) FROM {warehouse}").fetchone()[0] == 0, table.name
                continue
            only_warehouse = con.execute(f"SELECT count(*) FROM ({warehouse} EXCEPT ALL {gold})").fetchone()
            only_gold = con.execute(f"SELECT count(*) FROM ({gold} EXCEPT ALL {warehouse})").fetchone()
            assert (only_warehouse[0], only_gold[0]) == (0, 0), table.name


def test_big_incremental_marts_are_partitioned_in_gold_and_only_changes_are_rewritten(nights):
    _, first, second = nights
    tonight = {t.name: t for t in second.tables}

    for name, column in GOLD_PARTITIONS.items():
        assert tonight[name].partition_by == column
        assert DeltaTable(str(tonight[name].gold_path)).metadata().partition_columns == [column]
    # The state history rewrites its open spells and adds those closed tonight, never closed history.
    assert tonight["aipl_state_history"].partitions_written <= 2
    assert {t.name for t in first.tables} <= set(tonight)


def test_an_incremental_night_gives_the_states_and_facts_of_a_full_rebuild(nights, resolved, tmp_path):
    settings, _, _ = nights
    rebuilt = load_settings(
        data_dir=tmp_path, lakehouse_dir=resolved[0].lakehouse, hmac_key="integration-key"
    )
    build_marts(rebuilt, TONIGHT, full_refresh=True)

    # Spells keep history as it was known night by night, but the states on the run date, the
    # run date's funnel and the touchpoints (re-keyed to today's consumer ids) match exactly.
    holds_tonight = "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"
    queries = {
        "states": (
            f"SELECT one_id, brand_id, state FROM marts.aipl_state_history WHERE {holds_tonight}",
            [TONIGHT, TONIGHT],
        ),
        "funnel": ("SELECT * FROM marts.aipl_daily_funnel WHERE funnel_date = ?", [TONIGHT]),
        "touchpoints": ("SELECT * FROM marts.fct_touchpoints", []),
    }
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        con.execute(f"ATTACH '{rebuilt.warehouse}' AS rebuilt (READ_ONLY)")
        for name, (query, parameters) in queries.items():
            other = query.replace("marts.", "rebuilt.marts.")
            symmetric_difference = (
                f"(({query}) EXCEPT ALL ({other})) UNION ALL (({other}) EXCEPT ALL ({query}))"
            )
            differ = con.execute(f"SELECT count(*) FROM ({symmetric_difference})", parameters * 4).fetchone()
            rows = con.execute(f"SELECT count(*) FROM ({query})", parameters).fetchone()
            assert rows[0] > 0, name
            assert differ[0] == 0, name


def test_running_tonight_again_leaves_every_table_of_the_warehouse_as_it_was(nights):
    settings, _, _ = nights
    published = warehouse_checksums(settings.warehouse)

    build_marts(settings, TONIGHT)

    assert changed_tables(published, warehouse_checksums(settings.warehouse)) == set()
    assert published["intermediate.int_consumer_locations"][0] > 0  # homes and works were compared
