"""Publishing the marts: the warehouse swap readers rely on, and gold Delta tables kept level with it.

dbt is replaced by a tiny fake step that writes the `marts` schema of the build file, so these tests
exercise the build-aside-and-swap and gold logic alone, in a second or two.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from datetime import date
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from typer.testing import CliRunner

from databank.cli import app
from databank.cli import marts as marts_cli
from databank.config import load_settings
from databank.dbt_runner import DbtRun, DbtStep
from databank.gold_tables import publish_gold
from databank.marts import BuildInProgressError, MartsBuildError, build_lock, build_marts, gold_quality_gate
from databank.warehouse import register_silver

NIGHT_1, NIGHT_2 = date(2026, 5, 13), date(2026, 5, 14)


@pytest.fixture
def settings(tmp_path):
    return load_settings(data_dir=tmp_path, hmac_key="unit-key")


def fake_dbt(run: DbtRun) -> None:
    """Stands in for `dbt build`: one small mart whose rows say which night built it."""
    with duckdb.connect(str(run.warehouse)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(
            "CREATE OR REPLACE TABLE marts.dim_nights AS "
            f"SELECT range AS night_id, DATE '{run.run_date}' AS built_for FROM range(3)"
        )


def failing_dbt(run: DbtRun) -> None:
    """Writes half a night into the build file, then fails as dbt would."""
    with duckdb.connect(str(run.warehouse)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("DROP TABLE IF EXISTS marts.dim_nights")
    raise MartsBuildError(
        "dbt build failed", [{"unique_id": "model.x", "status": "error", "message": "boom"}]
    )


def gold_rows(path: Path, columns: str = "*") -> list[tuple]:
    """A gold table's rows, read by DuckDB over the files its Delta log lists."""
    files = DeltaTable(str(path)).file_uris()
    if not files:
        return []
    relation = f"read_parquet({files!r}, hive_partitioning = true)"
    return duckdb.sql(f"SELECT {columns} FROM {relation} ORDER BY ALL").fetchall()


def built_for(warehouse: Path) -> set[date]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {row[0] for row in con.execute("SELECT built_for FROM marts.dim_nights").fetchall()}


READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    for _ in sys.stdin:
        print(con.execute("SELECT min(built_for), count(*) FROM marts.dim_nights").fetchone(), flush=True)
""")


def test_a_reader_keeps_reading_the_old_warehouse_while_a_new_one_is_published(settings):
    # GIVEN last night's warehouse, and a dashboard (another process) holding it open
    build_marts(settings, NIGHT_1, dbt_step=fake_dbt)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        reader.stdin.write("read\n")
        reader.stdin.flush()
        before = reader.stdout.readline()

        # WHEN tonight's build is published
        result = build_marts(settings, NIGHT_2, dbt_step=fake_dbt)
        reader.stdin.write("read\n")
        reader.stdin.flush()
        during = reader.stdout.readline()
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)

    # THEN the open reader still reads last night's complete file; a new reader sees tonight's
    assert before == during == "(datetime.date(2026, 5, 13), 3)\n"
    assert built_for(settings.warehouse) == {NIGHT_2}
    assert result.warehouse == settings.warehouse
    assert not settings.warehouse.with_name("databank.build.duckdb").exists()


def test_a_failed_build_leaves_the_published_warehouse_and_gold_untouched(settings):
    # GIVEN a published night
    build_marts(settings, NIGHT_1, dbt_step=fake_dbt)
    published_bytes = hashlib.sha256(settings.warehouse.read_bytes()).hexdigest()
    gold = settings.lakehouse / "gold" / "dim_nights"
    gold_version = DeltaTable(str(gold)).version()

    # WHEN tonight's dbt step fails halfway
    with pytest.raises(MartsBuildError, match=r"model\.x"):
        build_marts(settings, NIGHT_2, dbt_step=failing_dbt)

    # THEN the published file is byte for byte last night's, and gold did not move
    assert hashlib.sha256(settings.warehouse.read_bytes()).hexdigest() == published_bytes
    assert built_for(settings.warehouse) == {NIGHT_1}
    assert DeltaTable(str(gold)).version() == gold_version
    # AND the next attempt builds normally (the lock was released, the half-built file discarded)
    build_marts(settings, NIGHT_2, dbt_step=fake_dbt)
    assert built_for(settings.warehouse) == {NIGHT_2}


def test_every_mart_is_published_as_a_gold_delta_table(settings):
    result = build_marts(settings, NIGHT_1, dbt_step=fake_dbt)

    [table] = result.tables
    assert (table.name, table.rows, table.partition_by) == ("dim_nights", 3, None)
    assert table.gold_path == settings.lakehouse / "gold" / "dim_nights"
    assert gold_rows(table.gold_path) == [(0, NIGHT_1), (1, NIGHT_1), (2, NIGHT_1)]


def test_an_incremental_build_starts_from_the_published_warehouse(settings):
    # GIVEN a published warehouse with a table the fake dbt step does not write
    build_marts(settings, NIGHT_1, dbt_step=fake_dbt)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE TABLE marts.kept AS SELECT 1 AS kept_id")

    # WHEN the next night is built, and then a full refresh
    incremental = build_marts(settings, NIGHT_2, dbt_step=fake_dbt)
    full = build_marts(settings, NIGHT_2, full_refresh=True, dbt_step=fake_dbt)

    # THEN the night's build carried it over; the full refresh started from an empty file
    assert [t.name for t in incremental.tables] == ["dim_nights", "kept"]
    assert [t.name for t in full.tables] == ["dim_nights"]


def recording_dbt(runs: list[tuple[date, bool]]) -> DbtStep:
    """The fake dbt step, noting each night it builds and whether it starts from an empty file."""

    def step(run: DbtRun) -> None:
        runs.append((run.run_date, run.full_refresh))
        fake_dbt(run)

    return step


def resolved_nights(settings, *nights: date) -> None:
    """Silver's identity map with one snapshot per night, as OneID leaves it."""
    rows = pa.table({"node": [f"phone:{n}" for n in nights], "one_id": ["c1"] * len(nights), "dt": nights})
    write_deltalake(str(settings.lakehouse / "silver" / "identity_map"), rows, partition_by=["dt"])


def test_a_full_refresh_replays_each_night_and_only_a_restatement_builds_history_at_once(settings):
    # GIVEN OneID ran three nights, and the first two were published night by night
    night_0 = date(2026, 5, 12)
    resolved_nights(settings, night_0, NIGHT_1, NIGHT_2)
    nightly: list[tuple[date, bool]] = []
    build_marts(settings, night_0, dbt_step=recording_dbt(nightly))
    build_marts(settings, NIGHT_1, dbt_step=recording_dbt(nightly))

    # WHEN tonight is built as a night, then with a full refresh, then restated
    night, full, restated = [], [], []
    tonight = build_marts(settings, NIGHT_2, dbt_step=recording_dbt(night))
    refreshed = build_marts(settings, NIGHT_2, full_refresh=True, dbt_step=recording_dbt(full))
    restatement = build_marts(settings, NIGHT_2, restate=True, dbt_step=recording_dbt(restated))

    # THEN a night builds its own day on the published warehouse; a full refresh builds the nights
    # again in order from an empty file, as they were built; a restatement is one build from scratch
    assert nightly == [(night_0, True), (NIGHT_1, False)]
    assert night == [(NIGHT_2, False)]
    assert full == [(night_0, True), (NIGHT_1, False), (NIGHT_2, False)]
    assert restated == [(NIGHT_2, True)]
    assert (tonight.nights, refreshed.nights, restatement.nights) == (
        (NIGHT_2,),
        (night_0, NIGHT_1, NIGHT_2),
        (NIGHT_2,),
    )
    assert (tonight.restated, refreshed.restated, restatement.restated) == (False, False, True)


def test_a_night_with_no_published_warehouse_replays_the_nights_before_it(settings):
    # GIVEN OneID ran two nights before tonight, and no warehouse is published (it was lost)
    resolved_nights(settings, date(2026, 5, 12), NIGHT_1, NIGHT_2)
    runs: list[tuple[date, bool]] = []

    # WHEN tonight is built as a night
    build_marts(settings, NIGHT_2, dbt_step=recording_dbt(runs))

    # THEN the nights before it are built again as they were, never restated in one pass
    assert runs == [(date(2026, 5, 12), True), (NIGHT_1, False), (NIGHT_2, False)]


def test_a_full_refresh_and_a_restatement_together_are_refused(settings):
    with pytest.raises(ValueError, match="choose one"):
        build_marts(settings, NIGHT_2, full_refresh=True, restate=True, dbt_step=fake_dbt)


def test_a_second_build_of_the_same_warehouse_is_refused_while_one_runs(settings):
    settings.warehouse.parent.mkdir(parents=True)
    with build_lock(settings.warehouse), pytest.raises(BuildInProgressError):
        build_marts(settings, NIGHT_1, dbt_step=fake_dbt)


@pytest.fixture
def marts():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.spells AS SELECT range AS spell_id, "
        "CASE WHEN range % 3 = 0 THEN NULL ELSE DATE '2026-05-01' + CAST(range % 2 AS INTEGER) END "
        "AS valid_to, 'A' AS state FROM range(30)"
    )
    yield con
    con.close()


def test_gold_rewrites_only_the_partitions_that_changed(marts, tmp_path):
    # GIVEN a partitioned mart published once, and published again unchanged
    partitions = {"spells": "valid_to"}
    [first] = publish_gold(marts, tmp_path, partitions)
    [unchanged] = publish_gold(marts, tmp_path, partitions)

    # WHEN a night closes one open spell (leaves the null partition for a new one)
    marts.execute("UPDATE marts.spells SET valid_to = DATE '2026-05-03' WHERE spell_id = 0")
    [night] = publish_gold(marts, tmp_path, partitions)

    # THEN the first write made three partitions, the unchanged one none, the night two
    assert (first.partitions_written, unchanged.partitions_written, night.partitions_written) == (3, 0, 2)
    assert unchanged.gold_version == first.gold_version
    # AND gold holds exactly the warehouse's rows
    expected = marts.execute("SELECT spell_id, valid_to, state FROM marts.spells ORDER BY ALL").fetchall()
    assert gold_rows(tmp_path / "spells", "spell_id, valid_to, state") == expected


def test_a_gold_table_made_under_an_earlier_statistics_rule_keeps_none_of_spell_ids_from_then_on(
    marts, tmp_path
):
    # GIVEN gold spells created when a spell's id (one_id:brand:day) still had statistics
    publish_gold(marts, tmp_path, {"spells": "valid_to"})
    DeltaTable(str(tmp_path / "spells")).alter.set_table_properties(
        {"delta.dataSkippingStatsColumns": "spell_id,valid_to,state"}
    )

    # WHEN a night changes a partition
    marts.execute("UPDATE marts.spells SET valid_to = DATE '2026-05-03' WHERE spell_id = 0")
    publish_gold(marts, tmp_path, {"spells": "valid_to"})

    # THEN the table keeps no statistics of spell_id, and the night's files were written without them
    table = DeltaTable(str(tmp_path / "spells"))
    assert table.metadata().configuration["delta.dataSkippingStatsColumns"] == "valid_to,state"
    assert _columns_with_statistics_in_the_last_write(tmp_path / "spells") == {"state"}


@pytest.mark.parametrize("change", ["restated", "a column added"])
def test_a_gold_table_rewritten_whole_writes_its_files_under_the_current_statistics_rule(
    marts, tmp_path, change
):
    # GIVEN gold spells created when a spell's id still had statistics
    publish_gold(marts, tmp_path, {"spells": "valid_to"})
    DeltaTable(str(tmp_path / "spells")).alter.set_table_properties(
        {"delta.dataSkippingStatsColumns": "spell_id,valid_to,state"}
    )

    # WHEN a night rewrites the whole table: a restatement, or a mart that gained columns (a consumer's
    # one_id among them)
    if change == "a column added":
        marts.execute("ALTER TABLE marts.spells ADD COLUMN one_id VARCHAR DEFAULT 'o-1'")
        marts.execute("ALTER TABLE marts.spells ADD COLUMN channel VARCHAR DEFAULT 'pos'")
    [table] = publish_gold(marts, tmp_path, {"spells": "valid_to"}, rewrite_all=change == "restated")

    # THEN every file it wrote keeps statistics of the columns the rule allows, and of no other
    # (valid_to, the partition column, is in the files' paths)
    allowed = {"valid_to", "state"} | ({"channel"} if change == "a column added" else set())
    assert table.partitions_written == 3
    assert _columns_with_statistics_in_the_last_write(tmp_path / "spells") <= allowed - {"valid_to"}
    # AND the table is left under the rule, the columns it gained included
    configuration = DeltaTable(str(tmp_path / "spells")).metadata().configuration
    assert set(configuration["delta.dataSkippingStatsColumns"].split(",")) == allowed


def _columns_with_statistics_in_the_last_write(table: Path) -> set[str]:
    """The columns with a min/max in the files of the table's newest commit that added files."""
    for version in range(DeltaTable(str(table)).version(), -1, -1):
        actions = [json.loads(line) for line in (table / "_delta_log" / f"{version:020}.json").open()]
        added = [json.loads(action["add"]["stats"]) for action in actions if "add" in action]
        if added:
            return {column for stats in added for column in stats["minValues"]}
    raise AssertionError(f"no commit of {table} added a file")


def test_gold_drops_a_partition_the_warehouse_no_longer_has(marts, tmp_path):
    publish_gold(marts, tmp_path, {"spells": "valid_to"})
    marts.execute("DELETE FROM marts.spells WHERE valid_to = DATE '2026-05-02'")

    [table] = publish_gold(marts, tmp_path, {"spells": "valid_to"})

    assert table.partitions_written == 1
    assert {row[0] for row in gold_rows(tmp_path / "spells", "valid_to")} == {None, date(2026, 5, 1)}


def test_an_unchanged_unpartitioned_mart_gets_no_new_delta_version(marts, tmp_path):
    [first] = publish_gold(marts, tmp_path, {})
    [second] = publish_gold(marts, tmp_path, {})
    marts.execute("UPDATE marts.spells SET state = 'I' WHERE spell_id = 1")
    [third] = publish_gold(marts, tmp_path, {})

    assert [t.partitions_written for t in (first, second, third)] == [1, 0, 1]
    assert [t.gold_version for t in (first, second, third)] == [0, 0, 1]


def test_old_gold_versions_are_vacuumed_after_the_retention(marts, tmp_path):
    publish_gold(marts, tmp_path, {}, retention_hours=0)
    marts.execute("UPDATE marts.spells SET state = 'I'")

    publish_gold(marts, tmp_path, {}, retention_hours=0)

    on_disk = sorted(str(p) for p in (tmp_path / "spells").glob("*.parquet"))
    assert on_disk == sorted(DeltaTable(str(tmp_path / "spells")).file_uris())


def test_the_marts_command_prints_what_it_published(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABANK_HMAC_KEY", "unit-key")
    monkeypatch.setattr(marts_cli, "build_marts", partial(build_marts, dbt_step=fake_dbt))

    result = CliRunner().invoke(app, ["marts", "--date", "2026-05-14"])

    assert result.exit_code == 0, result.output
    assert "dim_nights" in result.output
    assert built_for(tmp_path / "warehouse" / "databank.duckdb") == {NIGHT_2}


def test_the_marts_command_says_whether_history_was_restated(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABANK_HMAC_KEY", "unit-key")
    monkeypatch.setattr(marts_cli, "build_marts", partial(build_marts, dbt_step=fake_dbt))

    night = CliRunner().invoke(app, ["marts", "--date", "2026-05-14"])
    restated = CliRunner().invoke(app, ["marts", "--date", "2026-05-14", "--restate"])
    both = CliRunner().invoke(app, ["marts", "--date", "2026-05-14", "--restate", "--full-refresh"])

    assert night.exit_code == 0, night.output
    assert restated.exit_code == 0, restated.output
    assert "history as known each night" in night.output
    assert "history restated under the ids of 2026-05-14" in restated.output
    assert both.exit_code == 2
    assert "Choose one" in both.output


def test_the_marts_command_fails_with_dbts_failing_nodes(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(marts_cli, "build_marts", partial(build_marts, dbt_step=failing_dbt))

    result = CliRunner().invoke(app, ["marts", "--date", "2026-05-14", "--full-refresh"])

    assert result.exit_code == 1
    assert "model.x" in result.output
    assert not (tmp_path / "warehouse" / "databank.duckdb").exists()


def test_silver_is_registered_again_when_an_empty_table_gets_rows_and_back(tmp_path):
    # GIVEN an empty silver Delta table registered in the warehouse (as an empty table)
    path = tmp_path / "silver" / "erasure_requests"
    rows = pa.table({"request_id": ["r1"], "dt": [date(2026, 5, 14)]})
    write_deltalake(str(path), rows.slice(0, 0))
    con = duckdb.connect()
    register_silver(con, tmp_path, tables=("erasure_requests",))

    # WHEN it gets rows and is registered again (a view), then is emptied and registered again
    write_deltalake(str(path), rows, mode="append")
    register_silver(con, tmp_path, tables=("erasure_requests",))
    seen = con.execute("SELECT count(*) FROM silver.erasure_requests").fetchone()[0]
    write_deltalake(str(path), rows.slice(0, 0), mode="overwrite")
    register_silver(con, tmp_path, tables=("erasure_requests",))

    # THEN each registration shows the table as it is
    assert seen == 1
    assert con.execute("SELECT count(*) FROM silver.erasure_requests").fetchone()[0] == 0


def test_the_build_is_told_the_brands_time_zone_and_delivery_window(tmp_path):
    settings = load_settings(
        data_dir=tmp_path,
        hmac_key="unit-key",
        business_timezone="Europe/Paris",
        ingest={"late_days": 5, "future_tolerance_minutes": 90},
    )
    runs: list[DbtRun] = []

    build_marts(settings, NIGHT_1, dbt_step=lambda run: (runs.append(run), fake_dbt(run)))

    assert [run.settings_vars for run in runs] == [
        {"business_timezone": "Europe/Paris", "ingest_late_days": 5, "ingest_future_tolerance_minutes": 90}
    ]


def _warning_gate(settings, build, day):
    return ["gold.sources:fresh(lbs_pings)"]


def test_the_gold_gates_warnings_are_in_the_result_and_the_marts_command_says_them(
    settings, tmp_path, monkeypatch
):
    result = build_marts(settings, NIGHT_1, dbt_step=fake_dbt, gold_gate=_warning_gate)
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path / "command"))
    monkeypatch.setattr(
        marts_cli, "build_marts", partial(build_marts, dbt_step=fake_dbt, gold_gate=_warning_gate)
    )
    said = CliRunner().invoke(app, ["marts", "--date", "2026-05-14"])

    assert result.gold_warnings == ("gold.sources:fresh(lbs_pings)",)
    assert said.exit_code == 0, said.output
    assert "Gold quality warnings: gold.sources:fresh(lbs_pings)" in " ".join(said.output.split())


def test_the_nights_gold_gate_hands_its_warnings_to_the_build(settings, monkeypatch):
    from databank.quality import gates
    from databank.quality.gates import GateReport

    report = GateReport("gold", "gold", "2026-05-13", "r1", 40, [], ["gold.sources:fresh(lbs_pings)"], 0.1)
    monkeypatch.setattr(gates, "check_gold", lambda settings, build, day: report)

    assert gold_quality_gate(settings, settings.warehouse, NIGHT_1) == ["gold.sources:fresh(lbs_pings)"]
