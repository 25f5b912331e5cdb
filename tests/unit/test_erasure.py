"""Erasure's parts on tiny tables: who a request resolves to, and what purging leaves behind."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, WriterProperties, write_deltalake

from databank.config import load_settings
from databank.privacy.erasure import ErasureRequest, apply_erasure, resolve
from databank.privacy.personal_columns import statistics_columns, statistics_configuration
from databank.privacy.purge import (
    REDACTED,
    VALUES_PER_PATTERN,
    Erased,
    purge_delta_table,
    purge_exports,
    purge_warehouse,
)

ANNA = Erased(
    frozenset({"phone:aa11", "device_id:dd22"}), frozenset({"C-anna"}), frozenset({("members", "R1")})
)


def _create(path, rows: pa.Table, **options) -> None:
    """A Delta table made as the lakehouse makes one: no statistics that could name a person."""
    write_deltalake(path, rows, configuration=statistics_configuration(rows.schema.names), **options)


def _files_holding(folder, value: str) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and value.encode() in p.read_bytes()]


def test_no_statistics_are_kept_on_identifiers_consumer_ids_keys_made_of_them_or_quoting_text():
    columns = [
        *("order_id", "phone_hmac", "one_id", "old_one_id", "spell_id", "node", "raw_text", "search_keyword"),
        "dt",
    ]

    assert statistics_columns(columns) == ["order_id", "dt"]


def test_a_purged_table_keeps_everyone_else_and_its_files_and_log_hold_no_erased_value(tmp_path):
    rows = pa.table(
        {
            "record_id": ["R1", "R2", "R3"],
            "phone_hmac": ["aa11", "bb33", None],
            "device_id_hmac": [None, None, "dd22"],
            "dt": ["2026-05-01"] * 3,
        }
    )
    _create(tmp_path / "t", rows, partition_by=["dt"])
    write_deltalake(tmp_path / "t", rows.slice(1, 1), mode="append", partition_by=["dt"])

    touched = purge_delta_table(tmp_path / "t", ANNA, vacuum=True)

    kept = DeltaTable(str(tmp_path / "t")).to_pyarrow_table()
    assert touched == 2
    assert sorted(kept.column("record_id").to_pylist()) == ["R2", "R2"]
    assert _files_holding(tmp_path / "t", "aa11") == []
    assert _files_holding(tmp_path / "t", "dd22") == []


def test_a_file_an_earlier_version_replaced_is_vacuumed_although_the_current_one_lacks_them(tmp_path):
    # GIVEN a table rebuilt since it held her: the file of its first version is still on disk
    _create(tmp_path / "t", pa.table({"one_id": ["C-anna", "C-bob"], "n": [1, 2]}))
    write_deltalake(tmp_path / "t", pa.table({"one_id": ["C-bob"], "n": [2]}), mode="overwrite")
    assert _files_holding(tmp_path / "t", "C-anna")

    touched = purge_delta_table(tmp_path / "t", ANNA, vacuum=True)

    # THEN no row was hers tonight, and no file holds her any more
    assert touched == 0
    assert DeltaTable(str(tmp_path / "t")).to_pyarrow_table().column("one_id").to_pylist() == ["C-bob"]
    assert _files_holding(tmp_path / "t", "C-anna") == []


def test_a_partition_of_many_row_groups_loses_their_rows_in_each_and_keeps_the_rest(tmp_path):
    # A day of a large feed does not fit in memory, so purging reads and writes it in batches (one
    # per row group here): their rows go from every batch, and everyone else's stay.
    rows = pa.table(
        {
            "record_id": [f"R{n}" for n in range(7)],
            "phone_hmac": ["aa11", "bb33", "cc44", "ee55", "ff66", "aa11", "gg77"],
            "dt": ["2026-05-01"] * 7,
        }
    )
    _create(
        tmp_path / "t", rows, partition_by=["dt"], writer_properties=WriterProperties(max_row_group_size=2)
    )
    assert pq.ParquetFile(DeltaTable(str(tmp_path / "t")).file_uris()[0]).num_row_groups == 4

    touched = purge_delta_table(tmp_path / "t", ANNA, vacuum=True)

    kept = DeltaTable(str(tmp_path / "t")).to_pyarrow_table()
    assert touched == 2
    assert sorted(kept.column("record_id").to_pylist()) == ["R1", "R2", "R3", "R4", "R6"]
    assert _files_holding(tmp_path / "t", "aa11") == []


def test_a_quarantined_line_quoting_them_goes_and_a_quality_sample_is_redacted(tmp_path):
    quarantine = pa.table(
        {"raw_text": ['{"phone": "aa11", "x": 1}', '{"phone": "bb33"}'], "reason": ["a", "b"]}
    )
    results = pa.table({"check": ["unique"], "details": ['{"unexpected_sample": ["C-anna", "C-bob"]}']})
    _create(tmp_path / "quarantine", quarantine)
    _create(tmp_path / "results", results)

    purge_delta_table(tmp_path / "quarantine", ANNA, vacuum=True)
    purge_delta_table(tmp_path / "results", ANNA, vacuum=True)

    assert DeltaTable(str(tmp_path / "quarantine")).to_pyarrow_table().column("reason").to_pylist() == ["b"]
    details = DeltaTable(str(tmp_path / "results")).to_pyarrow_table().column("details").to_pylist()
    assert details == [f'{{"unexpected_sample": ["{REDACTED}", "C-bob"]}}']
    assert _files_holding(tmp_path, "C-anna") == []
    assert _files_holding(tmp_path, "aa11") == []


def test_text_quoting_any_of_many_people_is_found_and_their_nodes_are_redacted_whole(tmp_path):
    # More values than one pattern holds: the nodes (longest) and their HMACs fall in different ones.
    people = 2 * VALUES_PER_PATTERN
    hmacs = [f"{n:04x}" * 16 for n in range(people)]
    many = Erased(frozenset(f"phone:{h}" for h in hmacs), frozenset({"C-anna"}), frozenset())
    quarantine = pa.table(
        {"raw_text": [f'{{"phone": "{hmacs[-1]}"}}', '{"phone": "bb33"}'], "reason": ["a", "b"]}
    )
    results = pa.table(
        {"details": [f'["phone:{hmacs[0]}", "phone:{hmacs[-1]}", "{hmacs[1]}", "phone:bb33"]']}
    )
    _create(tmp_path / "quarantine", quarantine)
    _create(tmp_path / "results", results)

    assert purge_delta_table(tmp_path / "quarantine", many, vacuum=True) == 1
    assert purge_delta_table(tmp_path / "results", many, vacuum=True) == 1

    assert DeltaTable(str(tmp_path / "quarantine")).to_pyarrow_table().column("reason").to_pylist() == ["b"]
    details = DeltaTable(str(tmp_path / "results")).to_pyarrow_table().column("details").to_pylist()
    assert details == [f'["{REDACTED}", "{REDACTED}", "{REDACTED}", "phone:bb33"]']


def test_the_warehouse_loses_their_rows_and_its_file_their_bytes(tmp_path):
    path = tmp_path / "databank.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        consumers = "SELECT * FROM (VALUES ('C-anna', 1), ('C-bob', 2)) AS t(one_id, n)"
        con.execute(f"CREATE TABLE marts.dim_consumers AS {consumers}")
        con.execute("CREATE TABLE marts.funnel AS SELECT 3 AS consumers")

    removed = purge_warehouse(path, tmp_path / "lakehouse", ANNA)

    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT one_id FROM marts.dim_consumers").fetchall() == [("C-bob",)]
        assert con.execute("SELECT consumers FROM marts.funnel").fetchall() == [(3,)]
    assert removed == {"marts.dim_consumers": 1}
    assert b"C-anna" not in path.read_bytes()


def test_an_earlier_export_loses_their_row_and_its_manifest_says_so(tmp_path):
    folder = tmp_path / "exports" / "lapsed_buyers"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table({"one_id": ["C-anna", "C-bob"], "member_id_hmac": ["m1", "m2"]}), folder / "x.parquet"
    )
    manifest = {"file": "x.parquet", "format": "parquet", "counts": {"exported": 2}, "sha256": "old"}
    (folder / "x.manifest.json").write_text(json.dumps(manifest))

    removed = purge_exports(tmp_path / "exports", ANNA)

    updated = json.loads((folder / "x.manifest.json").read_text())
    assert removed == {"lapsed_buyers/x.parquet": 1}
    assert pq.read_table(folder / "x.parquet").column("one_id").to_pylist() == ["C-bob"]
    assert updated["counts"] == {"exported": 1, "erased": 1}
    assert updated["sha256"] != "old"


def test_a_request_resolves_to_every_identifier_of_the_person_and_the_ids_merged_into_theirs(tmp_path):
    settings = load_settings(data_dir=tmp_path, hmac_key="k")
    silver = settings.lakehouse / "silver"
    snapshot = pa.table(
        {
            "node": ["phone:aa11", "device_id:dd22", "phone:bb33", "phone:old"],
            "one_id": ["C-anna", "C-anna", "C-bob", "C-gone"],
            "dt": [date(2026, 5, 2), date(2026, 5, 2), date(2026, 5, 2), date(2026, 5, 1)],
        }
    )
    write_deltalake(silver / "identity_map", snapshot, partition_by=["dt"])
    history = pa.table(
        {"old_one_id": ["C-older"], "new_one_id": ["C-anna"], "day": [date(2026, 5, 2)], "cause": ["merge"]}
    )
    write_deltalake(silver / "one_id_history", history)
    sightings = pa.table(
        {
            "feed": ["pos_transactions", "pos_transactions"],
            "record_id": ["R9", "R10"],
            "identifier_type": ["device_id", "phone"],
            "identifier_hmac": ["dd22", "bb33"],
        }
    )
    write_deltalake(silver / "identifiers", sightings)

    erased = resolve(settings, [ErasureRequest("ER-1", "feed", None, ("phone:aa11",))])["ER-1"]

    assert erased.nodes == {"phone:aa11", "device_id:dd22"}
    assert erased.one_ids == {"C-anna", "C-older"}
    assert erased.records == {("pos_transactions", "R9")}


def _identity_with_pairs(settings, her_record_pairs: list[tuple[str, str]]) -> None:
    """Anna's identity as a night leaves it: her record R1 pairs `her_record_pairs`, Bob's R2 his two ids."""
    silver = settings.lakehouse / "silver"
    day = [date(2026, 5, 2)]
    write_deltalake(
        silver / "identity_map",
        pa.table({"node": ["phone:aa11", "device_id:dd22"], "one_id": ["C-anna"] * 2, "dt": day * 2}),
        partition_by=["dt"],
    )
    sightings = {"feed": ["members"], "record_id": ["R1"], "identifier_type": ["phone"]}
    write_deltalake(silver / "identifiers", pa.table({**sightings, "identifier_hmac": ["aa11"]}))
    edges = [("R1", src, dst) for src, dst in her_record_pairs] + [("R2", "phone:bb33", "device_id:ee44")]
    _create(
        silver / "identity_edges",
        pa.table(
            {
                "feed": ["members"] * len(edges),
                "record_id": [record for record, _, _ in edges],
                "src": [src for _, src, _ in edges],
                "dst": [dst for _, _, dst in edges],
                "dt": day * len(edges),
            }
        ),
        partition_by=["dt"],
    )
    pairs = {"src": [src for _, src, _ in edges], "dst": [dst for _, _, dst in edges], "dt": day * len(edges)}
    _create(silver / "identity_pairs", pa.table(pairs), partition_by=["dt"])


def test_the_pairs_the_identity_nights_keep_lose_her_pairs_as_any_table(tmp_path):
    settings = load_settings(data_dir=tmp_path, hmac_key="k")
    _identity_with_pairs(settings, [("phone:aa11", "device_id:dd22")])

    apply_erasure(settings, [ErasureRequest("ER-1", "feed", None, ("phone:aa11",))])

    kept = DeltaTable(str(settings.lakehouse / "silver" / "identity_pairs")).to_pyarrow_table()
    assert kept.column("src").to_pylist() == ["phone:bb33"]


def test_the_pairs_go_whole_when_her_records_paired_two_identifiers_that_are_not_hers(tmp_path):
    # Two identifiers shared too widely to be in anyone's cluster met on her record: the pair names
    # neither of her identifiers, and the same pair seen on someone else's record would look the same.
    settings = load_settings(data_dir=tmp_path, hmac_key="k")
    _identity_with_pairs(settings, [("phone:aa11", "device_id:dd22"), ("device_id:shop1", "phone:desk")])

    report = apply_erasure(settings, [ErasureRequest("ER-1", "feed", None, ("phone:aa11",))])

    assert report.applied == 1
    assert not (settings.lakehouse / "silver" / "identity_pairs").exists()
