"""Ingestion end to end on generated feeds: every row accounted for, every defect quarantined with
its reason, no raw identifier stored, re-runs and re-deliveries change nothing."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from delta_reading import DAYS, FEEDS, START, read_table
from deltalake import DeltaTable

from databank.config import load_settings
from databank.contracts import feeds, load_contract
from databank.generator.generate import GenerateArgs, generate
from databank.lakehouse import EmbeddedLakehouse
from databank.landing import list_delivered
from spark_jobs import read_delivery
from spark_jobs.ingest_feed import FILES_TABLE, RUNS_TABLE, ingest

TRUNCATION_REASONS = {"malformed_json", "malformed_row", "truncated_line"}
REASON_OF_DEFECT = {
    "malformed_json": {"malformed_json"},
    "malformed_row": {"malformed_row"},
    "missing_required": {"missing_required"},
    "missing_identifier": {"missing_identifier"},
    "unknown_enum": {"unknown_enum"},
    "negative_quantity": {"out_of_range"},
    "coordinates_out_of_range": {"out_of_range"},
    "wrong_type": {"bad_type"},
    "bad_timestamp": {"bad_timestamp"},
    "future_timestamp": {"future_timestamp"},
    "truncated_file": TRUNCATION_REASONS,
}


def _delivered_rows(settings, feed: str) -> Counter:
    """Records per day in the files a feed delivered, counted here, each distinct file once."""
    contract, counts, seen = load_contract(feed), Counter(), set()
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        for file in list_delivered(settings.landing, contract, day):
            if file.size == 0 or file.checksum in seen:
                continue
            seen.add(file.checksum)
            counts[day] += _count_records(file.path)
    return counts


def _count_records(path: Path) -> int:
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    raw = path.read_bytes()
    text = raw.decode("utf-8") if _is_utf8(raw) else raw.decode("gbk")
    lines = [line for line in text.split("\n") if line.strip()]
    return len(lines) - (1 if path.suffix == ".csv" else 0)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("feed", FEEDS)
def test_rows_delivered_equal_rows_in_bronze_plus_quarantine(ingested, feed):
    settings, lake = ingested

    bronze = Counter(read_table(lake, "bronze", feed)["dt"].to_list())
    quarantine = (
        Counter(read_table(lake, "quarantine", feed)["dt"].to_list())
        if lake.exists("quarantine", feed)
        else Counter()
    )

    assert _delivered_rows(settings, feed) == bronze + quarantine
    runs = read_table(lake, "ops", RUNS_TABLE).filter(pl.col("feed") == feed)
    assert (runs["rows_delivered"] == runs["rows_bronze"] + runs["rows_quarantined"]).all()
    assert runs.height == DAYS


def test_every_logged_defect_is_quarantined_with_its_reason_and_nothing_else_is(ingested):
    settings, lake = ingested
    defects = pl.read_parquet(settings.landing / "_truth" / "defects.parquet").filter(
        pl.col("kind").is_in(list(REASON_OF_DEFECT))
    )
    quarantined = pl.concat(
        [
            read_table(lake, "quarantine", f).select("ingest_source_file", "record_id", "reason")
            for f in feeds("event")
            if lake.exists("quarantine", f)
        ]
    )
    found = {
        (r["ingest_source_file"], r["record_id"]): r["reason"] for r in quarantined.iter_rows(named=True)
    }

    missed = []
    for d in defects.iter_rows(named=True):
        reason = found.pop((d["file"], d["record"]), None)
        if reason is None and d["kind"] == "truncated_file":
            reason = _cut_record_of(found, d["file"])
        if reason not in REASON_OF_DEFECT[d["kind"]]:
            missed.append((d["file"], d["record"], d["kind"], reason))

    assert not missed, f"defects not quarantined as expected: {missed[:5]}"
    assert not found, f"quarantined without a logged defect: {list(found.items())[:5]}"
    assert defects.height >= 30, "too few defects for the walk to mean much"
    assert defects["kind"].n_unique() >= 6


def _cut_record_of(found: dict, file: str) -> str | None:
    """A line cut inside its record id is quarantined under what could still be read of it."""
    for key in [k for k in found if k[0] == file and found[k] in TRUNCATION_REASONS]:
        return found.pop(key)
    return None


def test_empty_and_resent_files_are_registered_and_not_read_again(ingested):
    settings, lake = ingested
    defects = pl.read_parquet(settings.landing / "_truth" / "defects.parquet")
    register = {r["file"]: r for r in read_table(lake, "ops", FILES_TABLE).iter_rows(named=True)}

    for d in defects.filter(pl.col("kind") == "empty_file").iter_rows(named=True):
        assert register[d["file"]]["status"] == "empty"
    resent = defects.filter(pl.col("kind") == "duplicate_file")
    assert resent.height > 0
    for d in resent.iter_rows(named=True):
        entry = register[d["file"]]
        assert entry["status"] == "duplicate"
        assert register[entry["duplicate_of"]]["checksum"] == entry["checksum"]


def test_no_raw_identifier_from_the_truth_is_stored_in_the_lakehouse(ingested):
    settings, _ = ingested
    secrets = {
        v.lower() for v in pl.read_parquet(settings.landing / "_truth" / "identifiers.parquet")["value"]
    }
    stored = _string_cells(Path(settings.lakehouse))

    leaked = {token for cell in stored for token in _identifier_tokens(cell) if token in secrets}

    assert stored, "the lakehouse holds no text at all"
    assert not leaked, f"raw identifiers stored: {sorted(leaked)[:5]}"


def _string_cells(root: Path) -> set[str]:
    cells: set[str] = set()
    for path in root.rglob("*.parquet"):
        table = pq.read_table(path)
        for column in table.columns:
            if column.type in ("string", "large_string"):
                cells.update(v for v in column.to_pylist() if v)
    for path in root.rglob("*.json"):  # Delta log: file statistics hold min/max values
        cells.add(path.read_text())
    return cells


def _identifier_tokens(cell: str) -> set[str]:
    squeezed = re.sub(r"[\s\-+]", "", cell.lower())
    tokens = set(re.findall(r"[0-9a-z_]{6,}", cell.lower())) | set(
        re.findall(r"[0-9a-z_\-]{6,}", cell.lower())
    )
    phones = set(re.findall(r"(?=(1[3-9][0-9]{9}))", squeezed))
    return tokens | phones


def test_delta_tables_read_from_duckdb_and_polars(ingested):
    _, lake = ingested
    path = lake.path("bronze", "online_orders")

    files = DeltaTable(path).file_uris()
    query = f"SELECT count(*) FROM read_parquet({files!r}, hive_partitioning = true)"
    duck = duckdb.sql(query).fetchall()[0][0]
    polars_rows = pl.read_delta(path).height

    assert duck == polars_rows > 0
    assert "receiver_phone_hmac" in pl.read_delta(path).columns


def test_reingesting_a_day_and_a_resend_under_a_new_name_change_nothing(spark, tmp_path):
    settings = load_settings(data_dir=tmp_path, hmac_key="idempotency-key")
    generate(GenerateArgs(out=settings.landing, consumers=80, days=2, start=START, seed=5, bad_rate=0.02))
    lake = EmbeddedLakehouse(str(settings.lakehouse))
    feed, day = "online_events", START + timedelta(days=1)
    ingest(spark, lake, settings, feed, START)
    first = ingest(spark, lake, settings, feed, day)
    before = _content(lake, feed)

    again = ingest(spark, lake, settings, feed, day)
    folder = settings.landing / feed / f"dt={day}"
    original = sorted(folder.glob("*.jsonl"))[0]
    shutil.copy(original, folder / "zz_redelivered.jsonl")
    earlier = next((settings.landing / feed / f"dt={START}").glob("*.jsonl"))
    shutil.copy(earlier, folder / "zz_from_yesterday.jsonl")
    resent = ingest(spark, lake, settings, feed, day)

    assert _content(lake, feed) == before
    assert again.rows_bronze == first.rows_bronze
    assert resent.files_duplicate == first.files_duplicate + 2
    assert resent.rows_delivered == first.rows_delivered


def _content(lake: EmbeddedLakehouse, feed: str) -> list[tuple]:
    """Rows of bronze and quarantine without the columns that name the batch."""
    frames = [
        read_table(lake, layer, feed).drop("ingest_batch_id", "ingested_at")
        for layer in ("bronze", "quarantine")
        if lake.exists(layer, feed)
    ]
    return [sorted(frame.rows(), key=str) for frame in frames]


def test_a_night_read_from_one_big_parquet_file_is_spread_over_the_cores_and_stores_the_same_rows(
    spark, tmp_path, monkeypatch
):
    settings = load_settings(data_dir=tmp_path / "as-read", hmac_key="spread-key")
    generate(GenerateArgs(out=settings.landing, consumers=80, days=1, start=START, seed=5, bad_rate=0.02))
    spread_settings = load_settings(data_dir=tmp_path / "spread", hmac_key="spread-key")
    shutil.copytree(settings.landing, spread_settings.landing)
    feed = "lbs_pings"  # a day's SDK pings arrive in one Parquet file
    as_read, spread = (EmbeddedLakehouse(str(s.lakehouse)) for s in (settings, spread_settings))
    ingest(spark, as_read, settings, feed, START)

    monkeypatch.setattr(read_delivery, "SPREAD_FROM_ROWS", 1)
    ingest(spark, spread, spread_settings, feed, START)

    assert _content(spread, feed) == _content(as_read, feed)
    cores = spark.sparkContext.defaultParallelism
    assert _files_holding_rows_of(as_read, feed, "pings_sdk") == 1
    assert _files_holding_rows_of(spread, feed, "pings_sdk") == cores > 1


def _files_holding_rows_of(lake: EmbeddedLakehouse, feed: str, delivered: str) -> int:
    """How many of bronze's files hold records of the delivered files named `delivered`*."""
    table = DeltaTable(lake.path("bronze", feed))
    sources = [pq.read_table(path, columns=["ingest_source_file"]) for path in table.file_uris()]
    return sum(any(delivered in name for name in source.column(0).to_pylist()) for source in sources)


def test_a_killed_ingests_staging_copy_is_removed_by_the_next_ingest_of_the_feed(spark, tmp_path):
    # A GBK file is staged as a UTF-8 copy holding raw identifiers; a killed ingest leaves it behind.
    settings = load_settings(data_dir=tmp_path, hmac_key="staging-key")
    generate(GenerateArgs(out=settings.landing, consumers=40, days=1, start=START, seed=7, bad_rate=0.0))
    leftover = settings.lakehouse / "_staging" / "pos_transactions" / "pos_transactions-killed-batch"
    leftover.mkdir(parents=True)
    (leftover / "receipts.csv").write_text("member_card,phone\nM1,13800138000\n", encoding="utf-8")

    ingest(spark, EmbeddedLakehouse(str(settings.lakehouse)), settings, "pos_transactions", START)

    assert not any((settings.lakehouse / "_staging").rglob("*.csv"))


def test_a_phone_typed_into_a_search_box_is_stored_nowhere(spark, tmp_path):
    settings = load_settings(data_dir=tmp_path, hmac_key="free-text-key")
    generate(GenerateArgs(out=settings.landing, consumers=40, days=1, start=START, seed=7, bad_rate=0.0))
    folder = settings.landing / "online_events" / f"dt={START}"
    typed = {
        "event_id": "EV-typed-1",
        "session_id": "S-typed",
        "platform": "tmall",
        "event_type": "search",
        "event_at": f"{START}T10:00:00+08:00",
        "search_keyword": "口红 请回电 139 1234 5678",
        "account_id": "typed-account",
    }
    rejected = {**typed, "event_id": "EV-typed-2", "event_type": "shouted"}  # quarantined: unknown enum
    lines = [json.dumps(record, ensure_ascii=False) for record in (typed, rejected)]
    (folder / "events_tmall_typed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    ingest(spark, EmbeddedLakehouse(str(settings.lakehouse)), settings, "online_events", START)

    stored = [p for p in settings.lakehouse.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in stored)
    for path in stored:
        content = path.read_bytes()
        if path.suffix == ".parquet":
            content = str(pq.read_table(path).to_pylist()).encode()
        assert b"13912345678" not in content.replace(b" ", b""), path
