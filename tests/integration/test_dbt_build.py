"""The dbt project builds on the warehouse over silver, and its tests pass."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import duckdb
import pytest
from delta_reading import DAYS, START

from databank.dbt_project import find_dbt_project
from databank.dbt_runner import DbtRun, MartsBuildError, run_dbt
from databank.quality.results import read_results


def test_dbt_build_over_silver_passes_every_model_test(published):
    settings, result = published  # built with every data test and unit test, which all passed

    assert result.dbt_statuses.get("success", 0) > 0
    assert result.dbt_statuses.get("pass", 0) > 0
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        resolved_records = con.execute("SELECT count(*) FROM intermediate.int_records_resolved").fetchone()[0]
        funnel = con.execute(
            "SELECT count(*), min(asset_total) FROM marts.aipl_daily_funnel WHERE funnel_date = ?",
            [START + timedelta(days=DAYS - 1)],
        ).fetchone()
    assert resolved_records > 0
    assert funnel[0] == 3  # a row per brand
    assert funnel[1] > 0  # and every brand has consumer assets on the run date


def test_the_daily_and_period_marts_cover_history_from_any_year(published):
    """The shared world lies in 2019: the calendar the daily and period marts count on reaches it (a
    spine from a fixed recent year left brand_fast_daily and brand_grow_period without those days)."""
    settings, _ = published
    run_date = START + timedelta(days=DAYS - 1)

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        fast_days = con.execute(
            "SELECT count(*), count(DISTINCT brand_id) FROM marts.brand_fast_daily WHERE fast_date = ?",
            [run_date],
        ).fetchone()
        periods = con.execute(
            "SELECT count(*) FROM marts.brand_grow_period WHERE period_start <= ?", [run_date]
        ).fetchone()[0]

    assert START.year < 2024
    assert fast_days == (3, 3)  # one row per brand on the run date
    assert periods > 0


def test_the_nights_after_the_first_start_from_the_parsed_project(published):
    # The run date reaches dbt outside `--vars`, so a new night keeps the saved manifest: parsing the
    # whole project again (its models and 300 data tests) would cost each night several seconds.
    settings, result = published
    log = (settings.reports / "dbt" / "logs" / "dbt.log").read_text()

    assert len(result.nights) > 1
    full_parses = [line for line in log.splitlines() if "Unable to do partial parsing" in line]
    assert len(full_parses) == 1, full_parses
    assert "saved manifest not found" in full_parses[0]  # the build file's first night


def test_a_night_tests_the_records_it_resolves_and_only_full_builds_test_views_only_they_read(published):
    # int_records_resolved resolves every record of history, and only a full build reads it: a night
    # testing it paid for all of history (300 s of a medium-tier night at day 30). A night tests the
    # records it resolves instead; the first build of `published` is full and the others are nights.
    settings, result = published
    manifest = json.loads((settings.reports / "dbt" / "target" / "manifest.json").read_text())
    tests = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "test"}
    full_build_only = {name for name, node in tests.items() if "full_build" in node["tags"]}
    night_resolved = {
        name
        for name, node in tests.items()
        if node.get("attached_node") == "model.databank.int_night_records_resolved"
    }
    log = (settings.reports / "dbt" / "logs" / "dbt.log").read_text()
    builds = [run for run in log.split("Running with dbt=") if "'invocation_command': 'dbt build" in run]
    full_build, last_night = builds[0], builds[-1]

    assert len(result.nights) == len(builds) > 1
    assert {tests[name]["attached_node"] for name in full_build_only} == {
        "model.databank.int_records_resolved",
        "model.databank.int_aipl_evaluation_days",
    }
    assert len(full_build_only) == 7
    assert all(f" PASS {name} " in full_build for name in full_build_only)
    assert not any(f"test {name} " in last_night for name in full_build_only)
    assert len(night_resolved) == 3
    assert all(f" PASS {name} " in last_night for name in night_resolved)


def test_every_mart_is_a_contract_the_build_enforces(published):
    # The marts' names, columns and types are an API: each build refuses a mart whose SQL no longer
    # gives the columns and types its YAML declares, and the types are ones Spark has too.
    settings, _ = published
    manifest = json.loads((settings.reports / "dbt" / "target" / "manifest.json").read_text())
    declared = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["schema"] == "marts"
    }
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        built: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'marts' ORDER BY table_name, ordinal_position"
        ).fetchall():
            built.setdefault(table, []).append((column, data_type))

    assert set(declared) == set(built)
    for name, node in declared.items():
        assert node["config"]["contract"]["enforced"], name
        columns = node["columns"].values()
        assert [column["name"] for column in columns] == [column for column, _ in built[name]], name
        assert all(column["data_type"] for column in columns), name
        assert "HUGEINT" not in {data_type for _, data_type in built[name]}, name


def test_dbt_source_freshness_and_the_gold_gate_judge_each_silver_source_alike(published, tmp_path):
    # dbt declares the thresholds and the gate applies them each night; `dbt source freshness`, run by
    # hand on the same warehouse and day, must count the same age (to the run date's end) and agree.
    settings, result = published
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(settings.warehouse, warehouse)
    run_dbt(DbtRun(find_dbt_project(), warehouse, result.run_date, False, tmp_path), "source", "freshness")
    by_dbt = {
        r["unique_id"].rsplit(".", 1)[1]: (r["status"], r["max_loaded_at_time_ago_in_s"] / 86400)
        for r in json.loads((tmp_path / "target" / "sources.json").read_text())["results"]
    }
    gate = read_results(settings, since=result.run_date).to_pylist()
    by_gate = {
        row["expectation"]: row
        for row in gate
        if row["suite"] == "gold.sources" and row["run_date"] == result.run_date
    }

    assert set(by_dbt) == {
        "online_orders",
        "online_events",
        "pos_transactions",
        "lbs_pings",
        "media_exposures",
        "members",
    }
    assert "pass" in {status for status, _ in by_dbt.values()}
    for table, (status, age_days) in by_dbt.items():
        assert by_gate[f"delivered({table})"]["success"], table  # the shared world delivers every feed
        fresh = by_gate[f"fresh({table})"]
        assert fresh["success"] == (status == "pass"), (table, status, fresh["observed_value"])
        assert float(fresh["observed_value"]) == age_days, table
    # and what the gate found to warn of is what the night's build reports
    warned = [r for r in gate if r["stage"] == "gold" and r["severity"] == "warning" and not r["success"]]
    assert sorted(result.gold_warnings) == sorted(f"{r['suite']}:{r['expectation']}" for r in warned)


def test_a_night_finds_a_record_id_loaded_twice_tonight_or_loaded_before(published, tmp_path):
    # A night checks the big feeds' record ids one load at a time (unique_per_load): the ids loaded on
    # the run date, against each other and against every earlier load. Here the pings a night tests
    # carry one id twice tonight and one id of an earlier load again.
    settings, result = published
    warehouse = _copy_of_the_warehouse(settings, tmp_path)
    night = f"DATE '{result.run_date}'"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("ALTER VIEW staging.stg_lbs__pings RENAME TO stg_lbs__pings_delivered")
        con.execute(f"""
            CREATE VIEW staging.stg_lbs__pings AS
            SELECT * FROM staging.stg_lbs__pings_delivered
            UNION ALL (SELECT * FROM staging.stg_lbs__pings_delivered WHERE loaded_date = {night} LIMIT 1)
            UNION ALL (
                SELECT * REPLACE ({night} AS loaded_date) FROM staging.stg_lbs__pings_delivered
                WHERE loaded_date < {night} LIMIT 1
            )
        """)

    failures = _failures_of_a_night_and_a_full_build(
        result, warehouse, tmp_path, "stg_lbs__pings,test_name:unique_per_load"
    )

    # A full build checks the whole column instead (dbt's unique): the same two ids.
    for failure in failures.values():
        assert failure["unique_id"].startswith("test.databank.unique_per_load_stg_lbs__pings_ping_id.")
        assert failure["message"].startswith("Got 2 results")


def test_a_night_checks_the_touches_it_loaded_and_a_full_build_every_touch(published, tmp_path):
    # fct_touchpoints' tests of columns a night never rewrites in earlier rows check the rows loaded
    # on the run date (`__loaded_tonight__`). Here one touch loaded tonight and one loaded before carry
    # a behaviour outside the code list, each its own.
    settings, result = published
    warehouse = _copy_of_the_warehouse(settings, tmp_path)
    night = f"DATE '{result.run_date}'"
    with duckdb.connect(str(warehouse)) as con:
        for loaded, behaviour in ((f"= {night}", "unknown_tonight"), (f"< {night}", "unknown_before")):
            con.execute(f"""
                INSERT INTO marts.fct_touchpoints
                SELECT * REPLACE (
                    touchpoint_id || ':{behaviour}' AS touchpoint_id, '{behaviour}' AS behaviour
                )
                FROM marts.fct_touchpoints WHERE loaded_date {loaded} LIMIT 1
            """)

    failures = _failures_of_a_night_and_a_full_build(
        result, warehouse, tmp_path, "fct_touchpoints,test_name:accepted_values"
    )

    for full_build, found in ((False, "Got 1 result,"), (True, "Got 2 results,")):
        assert failures[full_build]["unique_id"].startswith(
            "test.databank.accepted_values_fct_touchpoints_behaviour__"
        )
        assert failures[full_build]["message"].startswith(found)


def _copy_of_the_warehouse(settings, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(settings.warehouse, warehouse)
    return warehouse


def _failures_of_a_night_and_a_full_build(result, warehouse, tmp_path, selection):
    """The one failure of the tests `selection` picks, as a night runs them (`dbt test`) and as a full
    build does, by whether it is a full build."""
    failures = {}
    for full_build, command in ((False, ("test",)), (True, ("build", "--full-refresh"))):
        run = DbtRun(find_dbt_project(), warehouse, result.run_date, full_build, tmp_path / str(full_build))
        with pytest.raises(MartsBuildError) as failed:
            run_dbt(run, *command, "--select", selection)
        [failures[full_build]] = failed.value.failures
    return failures
