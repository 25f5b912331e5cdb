"""Lakehouse upkeep: compaction, vacuum and the retention policy, on tiny Delta tables."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from databank.config import load_settings
from databank.housekeeping import keep_lakehouse, snapshots_let_go_before
from databank.housekeeping_settings import HousekeepingSettings
from databank.lineage_settings import EVENTS_FILE

RUN_DATE = date(2026, 5, 20)


def _rows(table: DeltaTable) -> list[dict]:
    return sorted(table.to_pyarrow_table().to_pylist(), key=lambda row: sorted(row.items()))


def _night_by_night(path, days: list[date], nights: int) -> None:
    """Each night appends a small file per day and replaces the last day, as re-runs do."""
    for night in range(nights):
        rows = pa.table({"dt": days, "value": [f"{d}-{night}" for d in days]})
        write_deltalake(str(path), rows, mode="append", partition_by=["dt"])
    last = pa.table({"dt": [days[-1]], "value": ["replaced"]})
    write_deltalake(str(path), last, mode="overwrite", predicate=f"dt = '{days[-1]}'", partition_by=["dt"])


def test_upkeep_compacts_and_vacuums_without_changing_a_row(tmp_path):
    # GIVEN a bronze table of two days written by six nights, with files the table no longer uses
    settings = load_settings(data_dir=tmp_path, housekeeping=HousekeepingSettings(vacuum_retention_hours=0))
    bronze = settings.lakehouse / "bronze" / "online_orders"
    _night_by_night(bronze, [RUN_DATE - timedelta(days=1), RUN_DATE], nights=6)
    rows_before = _rows(DeltaTable(str(bronze)))

    # WHEN the night's upkeep runs
    result = keep_lakehouse(settings, RUN_DATE)

    # THEN every partition is one file (day 1 had six, day 2 one), nothing else is left on disk, and
    # the rows are the same
    upkeep = result.tables["bronze/online_orders"]
    assert (upkeep.files_before, upkeep.files_after) == (7, 2)
    assert upkeep.bytes_reclaimed > 0
    assert len([f for f in bronze.rglob("*.parquet") if "_delta_log" not in f.parts]) == 2
    assert _rows(DeltaTable(str(bronze))) == rows_before


def test_retention_clears_old_raw_text_and_old_landing_folders_but_not_the_late_window(tmp_path):
    # GIVEN quarantined records of 40, 10 and 1 days ago, and landing folders of the last 10 days
    policy = HousekeepingSettings(quarantine_raw_text_days=30, landing_days=2)
    settings = load_settings(data_dir=tmp_path, housekeeping=policy)
    days = [RUN_DATE - timedelta(days=n) for n in (40, 10, 1)]
    quarantine = settings.lakehouse / "quarantine" / "members"
    rows = pa.table(
        {"dt": days, "reason": ["bad_timestamp"] * 3, "raw_text": ['{"a":1}', '{"b":2}', '{"c":3}']}
    )
    write_deltalake(str(quarantine), rows, partition_by=["dt"])
    for n in range(10):
        (settings.landing / "members" / f"dt={RUN_DATE - timedelta(days=n)}").mkdir(parents=True)

    # WHEN the night's upkeep runs
    result = keep_lakehouse(settings, RUN_DATE)

    # THEN only the record older than 30 days lost its raw text, and its reason stays
    kept = {r["dt"]: (r["reason"], r["raw_text"]) for r in _rows(DeltaTable(str(quarantine)))}
    assert kept == {
        days[0]: ("bad_timestamp", None),
        days[1]: ("bad_timestamp", '{"b":2}'),
        days[2]: ("bad_timestamp", '{"c":3}'),
    }
    assert result.tables["quarantine/members"].raw_texts_cleared == 1
    # AND landing keeps the late-data window (ingest.late_days = 3 > landing_days = 2): run date and 3 before
    remaining = sorted(p.name for p in (settings.landing / "members").iterdir())
    assert remaining == [f"dt={RUN_DATE - timedelta(days=n)}" for n in (3, 2, 1, 0)]
    assert result.landing_folders_deleted == 6


def test_without_a_policy_nothing_is_deleted_but_unused_files(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    quarantine = settings.lakehouse / "quarantine" / "members"
    old = RUN_DATE - timedelta(days=400)
    write_deltalake(str(quarantine), pa.table({"dt": [old], "raw_text": ["{}"]}), partition_by=["dt"])
    (settings.landing / "members" / f"dt={old}").mkdir(parents=True)

    result = keep_lakehouse(settings, RUN_DATE)

    assert _rows(DeltaTable(str(quarantine))) == [{"dt": old, "raw_text": "{}"}]
    assert (settings.landing / "members" / f"dt={old}").is_dir()
    assert result.summary()["landing_folders_deleted"] == 0


def test_lineage_events_move_to_a_file_of_their_night_and_older_nights_files_go(tmp_path):
    # GIVEN a week of nights' events kept as files of their nights, and tonight's appended so far
    settings = load_settings(data_dir=tmp_path, housekeeping=HousekeepingSettings(lineage_days=3))
    events = settings.reports / EVENTS_FILE
    events.parent.mkdir(parents=True)
    for days_before in range(1, 8):
        (events.parent / f"openlineage-{RUN_DATE - timedelta(days=days_before)}.jsonl").write_text(
            '{"n": 0}\n'
        )
    (events.parent / "openlineage-notes.jsonl").write_text("kept: not a night's file\n")
    events.write_text('{"n": 1}\n{"n": 2}\n')

    # WHEN the night's upkeep runs, then the night is run again and emits once more
    result = keep_lakehouse(settings, RUN_DATE)
    events.write_text('{"n": 3}\n')
    again = keep_lakehouse(settings, RUN_DATE)

    # THEN the nights more than three days back are gone, tonight's two runs have a file each, and the
    # next events start a new file
    tonight = [f"openlineage-{RUN_DATE}.jsonl", f"openlineage-{RUN_DATE}-2.jsonl"]
    kept = sorted(p.name for p in events.parent.iterdir())
    assert (result.lineage_files_deleted, again.lineage_files_deleted) == (4, 0)
    assert kept == sorted(
        [
            "openlineage-notes.jsonl",
            *tonight,
            *(f"openlineage-{RUN_DATE - timedelta(days=d)}.jsonl" for d in (1, 2, 3)),
        ]
    )
    assert [(events.parent / name).read_text() for name in tonight] == ['{"n": 1}\n{"n": 2}\n', '{"n": 3}\n']
    assert not events.exists()


def test_the_identity_maps_old_snapshots_go_but_the_one_the_oldest_kept_night_starts_from(tmp_path):
    # GIVEN a map snapshot of each of the last ten nights and a policy of three days
    settings = load_settings(data_dir=tmp_path, housekeeping=HousekeepingSettings(identity_map_days=3))
    snapshots = settings.lakehouse / "silver" / "identity_map"
    days = [RUN_DATE - timedelta(days=n) for n in range(9, -1, -1)]
    write_deltalake(str(snapshots), pa.table({"dt": days, "one_id": ["C1"] * 10}), partition_by=["dt"])

    # WHEN the night's upkeep runs, and again
    result = keep_lakehouse(settings, RUN_DATE)
    again = keep_lakehouse(settings, RUN_DATE)

    # THEN the snapshots no older than three days are kept, and the one before them, which a re-run
    # of the oldest kept night starts from; the table says before which day the snapshots went
    kept_from = RUN_DATE - timedelta(days=4)
    assert sorted(row["dt"] for row in _rows(DeltaTable(str(snapshots)))) == days[5:]
    assert days[5] == kept_from
    assert (result.map_snapshots_deleted, again.map_snapshots_deleted) == (5, 0)
    assert snapshots_let_go_before(str(snapshots)) == kept_from


def test_unset_every_snapshot_of_the_identity_map_is_kept(tmp_path):
    settings = load_settings(data_dir=tmp_path, housekeeping=HousekeepingSettings(identity_map_days=None))
    snapshots = settings.lakehouse / "silver" / "identity_map"
    days = [RUN_DATE - timedelta(days=n) for n in (400, 1, 0)]
    write_deltalake(str(snapshots), pa.table({"dt": days, "one_id": ["C1"] * 3}), partition_by=["dt"])

    result = keep_lakehouse(settings, RUN_DATE)

    assert sorted(row["dt"] for row in _rows(DeltaTable(str(snapshots)))) == days
    assert result.map_snapshots_deleted == 0
    assert snapshots_let_go_before(str(snapshots)) is None
