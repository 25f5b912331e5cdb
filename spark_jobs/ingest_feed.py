"""Ingest one feed's delivery for one local day: landing files -> bronze + quarantine (Delta).

Every delivered record ends in `bronze.<feed>` (typed, identifiers pseudonymised, ingestion
metadata on each row) or in `quarantine.<feed>` (with a reason and its raw text, identifier-like
values redacted); the job checks that the two add up to what the files hold and fails loudly if
they do not, before writing anything. Which files are read, and how, is `spark_jobs.read_delivery`'s
part; every file under the day's folder is registered in `ops.ingested_files` with what became of
it (ingested, duplicate, empty, unreadable, refused or ignored), its problem and the columns or keys
it holds that the contract does not know. A file whose bytes were already ingested (same sha256,
under any name, on any day) is skipped and registered as a duplicate. Re-running a day replaces
that day's rows.

    python -m spark_jobs.ingest_feed --feed online_orders --date 2026-05-01
"""

from __future__ import annotations

import argparse
import re
import shutil
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession

from databank.config import Settings, load_settings
from databank.contracts import Contract, load_contract
from databank.lakehouse import Lakehouse, lakehouse_for
from databank.landing import list_delivered
from databank.privacy.erasure import ERASURE_FEED, read_suppressed_tokens
from databank.privacy.vault import Vault
from databank.sources import load_sources, sources_of_feed
from databank.spark_session import build_session
from spark_jobs.read_delivery import (
    DUPLICATE,
    EMPTY,
    IGNORED,
    INGESTED,
    REFUSED,
    FileDecision,
    decide,
    read_raw,
    rows_delivered,
)
from spark_jobs.transforms.identifiers import ID_LIKE, PHONE_LIKE, REDACTED, pseudonymise
from spark_jobs.transforms.privacy import is_suppressed, vault_entries
from spark_jobs.transforms.records import (
    BRONZE,
    FATE,
    QUARANTINE,
    SOURCE_FILE,
    SUPPRESSED,
    UNREAD,
    VAULT,
    sorted_records,
)
from spark_jobs.transforms.validate import DeliveryWindow, type_and_check

FILES_TABLE = "ingested_files"
RUNS_TABLE = "ingest_runs"


class RowsLostError(RuntimeError):
    """Bronze and quarantine together do not hold what the files delivered."""


@dataclass(frozen=True)
class IngestResult:
    batch_id: str
    feed: str
    dt: date
    files_delivered: int
    files_ingested: int
    files_duplicate: int
    files_empty: int
    files_refused: int
    files_ignored: int
    rows_delivered: int
    rows_bronze: int
    rows_quarantined: int
    rows_suppressed: int
    identifiers_vaulted: int


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = load_settings()
    spark = build_session(settings, f"ingest {args.feed} {args.date}")
    print(ingest(spark, lakehouse_for(settings), settings, args.feed, args.date))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feed", required=True)
    parser.add_argument(
        "--date", required=True, type=date.fromisoformat, help="local business day, YYYY-MM-DD"
    )
    return parser.parse_args(argv)


def ingest(spark: SparkSession, lake: Lakehouse, settings: Settings, feed: str, day: date) -> IngestResult:
    """Ingest `feed` for `day`; see the module docstring."""
    contract = load_contract(feed)
    batch_id = f"{feed}-{day.isoformat()}-{uuid.uuid4().hex[:12]}"
    ingested_at = datetime.now(UTC).replace(tzinfo=None)
    sources = sources_of_feed(load_sources(settings.ingest.sources), feed)
    delivered = list_delivered(settings.landing, contract, day, sources)
    decisions = decide(delivered, _earlier_checksums(spark, lake, feed, day), settings.landing)
    _widen_register(spark, lake)
    # Staged copies hold raw identifiers. One ingest of a feed runs at a time, so whatever is under
    # the feed's staging folder now was left by a killed run and goes before anything is read.
    feed_staging = Path(settings.lakehouse) / "_staging" / feed
    shutil.rmtree(feed_staging, ignore_errors=True)
    staging = feed_staging / batch_id
    meta = {"batch": batch_id, "at": ingested_at, "dt": day}
    try:
        raw = read_raw(spark, contract, decisions, staging)
        outcome = _outcome(raw, contract, settings, day, meta)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    result = IngestResult(
        batch_id=batch_id,
        feed=feed,
        dt=day,
        files_delivered=sum(d.status != IGNORED for d in decisions),
        files_ingested=sum(d.status == INGESTED for d in decisions),
        files_duplicate=sum(d.status == DUPLICATE for d in decisions),
        files_empty=sum(d.status == EMPTY for d in decisions),
        files_refused=sum(d.status == REFUSED for d in decisions),
        files_ignored=sum(d.status == IGNORED for d in decisions),
        rows_delivered=rows_delivered(decisions),
        rows_bronze=outcome.bronze.num_rows,
        rows_quarantined=outcome.quarantine.num_rows,
        rows_suppressed=outcome.suppressed,
        identifiers_vaulted=0,
    )
    register = _file_register(decisions, feed, day, batch_id, ingested_at, outcome.unread_keys)
    stored = result.rows_bronze + result.rows_quarantined + result.rows_suppressed
    if result.rows_delivered != stored:  # checked before anything is written: the day stays as it was
        _record(lake, register, result, ingested_at)
        raise RowsLostError(
            f"{feed} {day}: {result.rows_delivered} rows delivered, but {result.rows_bronze} would go "
            f"to bronze, {result.rows_quarantined} to quarantine and {result.rows_suppressed} are "
            f"suppressed; nothing written (batch {batch_id})"
        )
    lake.replace(outcome.bronze, "bronze", feed, {"dt": day}, ["dt"])
    lake.replace(outcome.quarantine, "quarantine", feed, {"dt": day}, ["dt"])
    if outcome.vault_entries is not None:
        result = replace(result, identifiers_vaulted=_seal_identifiers(settings, outcome.vault_entries))
    _record(lake, register, result, ingested_at)
    return result


def empty_bronze(spark: SparkSession, settings: Settings, feed: str, day: date) -> pa.Table:
    """Bronze of a day without any record: the shape ingestion gives `feed`'s rows, and no row."""
    contract = load_contract(feed)
    meta = {
        "batch": f"{feed}-{day.isoformat()}-none",
        "at": datetime.now(UTC).replace(tzinfo=None),
        "dt": day,
    }
    return _outcome(read_raw(spark, contract, [], Path()), contract, settings, day, meta).bronze


@dataclass(frozen=True)
class _Outcome:
    """What a day's records became, before any of it is written."""

    bronze: pa.Table
    quarantine: pa.Table
    suppressed: int
    vault_entries: pa.Table | None  # None when no identifier type is vaulted
    unread_keys: dict[str, list[str]]  # by source file: JSON keys the contract does not know


def _outcome(raw: DataFrame, contract: Contract, settings: Settings, day: date, meta: dict) -> _Outcome:
    tz = settings.business_timezone
    window = DeliveryWindow.for_day(
        day, settings.tz, settings.ingest.late_days, settings.ingest.future_tolerance_minutes
    )
    junk = {"phone": settings.ingest.placeholder_phones, "device_id": settings.ingest.junk_device_ids}
    vaulted = settings.privacy.vault_identifier_types
    pseudonymised = pseudonymise(raw, contract, settings.pseudonymisation_key(), junk, vaulted)
    checked = type_and_check(pseudonymised, contract, window, tz, settings.ingest.earliest_plausible_time)
    # The people erased stay erased: their records are counted, never stored (not even in
    # quarantine). A request itself is not suppressed: it is how an erasure arrives.
    tokens = read_suppressed_tokens(settings) if contract.feed != ERASURE_FEED else []
    vault = vault_entries(checked.columns, contract) if vaulted else None
    # One Spark action for the whole day: every record's fate and rows, split here.
    records = sorted_records(checked, contract, meta, is_suppressed(contract, tokens), vault).toArrow()
    fates = records.column(FATE)
    return _Outcome(
        bronze=_rows_of(records, BRONZE),
        quarantine=_rows_of(records, QUARANTINE),
        suppressed=pc.sum(pc.equal(fates, SUPPRESSED)).as_py() or 0,
        vault_entries=_vault_entries(records) if vaulted else None,
        unread_keys=_unread_keys(records),
    )


def _rows_of(records: pa.Table, fate: str) -> pa.Table:
    """The rows of the records whose fate is `fate`, as their own table."""
    chosen = records.filter(pc.equal(records.column(FATE), fate)).column(fate)
    return pa.Table.from_struct_array(chosen)


def _vault_entries(records: pa.Table) -> pa.Table:
    """The distinct identifiers the day's bronze records carry of the vaulted types: a day's devices
    recur in every ping, and the vault is handed each once."""
    entries = pa.Table.from_struct_array(pc.list_flatten(records.column(VAULT)))
    return entries.group_by(entries.schema.names).aggregate([])


def _unread_keys(records: pa.Table) -> dict[str, list[str]]:
    """By source file, the JSON keys its lines hold that the contract does not know, masked."""
    by_file: dict[str, set[str]] = {}
    files, keys_of_lines = records.column(SOURCE_FILE).to_pylist(), records.column(UNREAD).to_pylist()
    for file, keys in zip(files, keys_of_lines, strict=True):
        if keys:
            by_file.setdefault(file, set()).update(keys)
    return {file: sorted(keys) for file, keys in sorted(by_file.items())}


def _seal_identifiers(settings: Settings, entries: pa.Table) -> int:
    """Seal the night's new identifiers of the vaulted types in the identifier vault."""
    return Vault.open(settings).store(entries)


def _record(lake: Lakehouse, register: pa.Table, result: IngestResult, at: datetime) -> None:
    """Register the day's files and log the run."""
    lake.replace(register, "ops", FILES_TABLE, {"feed": result.feed, "dt": result.dt}, ["feed"])
    lake.append(_run_row(result, at), "ops", RUNS_TABLE, ["feed"])


def _widen_register(spark: SparkSession, lake: Lakehouse) -> None:
    """A register written before it had all of today's columns gains them (a replace cannot)."""
    files = lake.read(spark, "ops", FILES_TABLE)
    if files is not None and set(FILES_SCHEMA.names) - set(files.columns):
        lake.append(FILES_SCHEMA.empty_table(), "ops", FILES_TABLE, ["feed"])


def _earlier_checksums(spark: SparkSession, lake: Lakehouse, feed: str, day: date) -> dict[str, str]:
    """Checksums of files of this feed ingested for other days: re-deliveries of them are skipped."""
    files = lake.read_small(spark, "ops", FILES_TABLE, {"feed": [feed]}, ["checksum", "file", "status", "dt"])
    if files is None:
        return {}
    rows = files.filter(pc.and_(pc.equal(files["status"], INGESTED), pc.not_equal(files["dt"], day)))
    return dict(zip(rows["checksum"].to_pylist(), rows["file"].to_pylist(), strict=True))


def _file_register(
    decisions: list[FileDecision],
    feed: str,
    day: date,
    batch_id: str,
    at: datetime,
    unread_keys: dict[str, list[str]],
) -> pa.Table:
    return pa.table(
        {
            "feed": [feed] * len(decisions),
            "dt": pa.array([day] * len(decisions), pa.date32()),
            "file": [d.relative for d in decisions],
            "checksum": [d.file.checksum for d in decisions],
            "size_bytes": pa.array([d.file.size for d in decisions], pa.int64()),
            "rows": pa.array([d.file.rows for d in decisions], pa.int64()),
            "encoding": [d.file.encoding for d in decisions],
            "status": [d.status for d in decisions],
            "duplicate_of": [d.duplicate_of for d in decisions],
            "batch_id": [batch_id] * len(decisions),
            "registered_at": pa.array([at] * len(decisions), pa.timestamp("us")),
            "problem": [d.file.problem for d in decisions],
            "compression": [d.file.compression for d in decisions],
            "extra_columns": [
                [*_masked(d.file.extra_columns), *unread_keys.get(d.relative, [])] for d in decisions
            ],
            "source": [d.file.mapping.source if d.file.mapping else None for d in decisions],
        },
        schema=FILES_SCHEMA,
    )


def _masked(names: tuple[str, ...]) -> list[str]:
    """Column names as the register may keep them: a header can hold an identifier by mistake."""
    return [re.sub(ID_LIKE, REDACTED, re.sub(PHONE_LIKE, REDACTED, name)) for name in names]


FILES_SCHEMA = pa.schema(
    [
        ("feed", pa.string()),
        ("dt", pa.date32()),
        ("file", pa.string()),
        ("checksum", pa.string()),
        ("size_bytes", pa.int64()),
        ("rows", pa.int64()),
        ("encoding", pa.string()),
        ("status", pa.string()),
        ("duplicate_of", pa.string()),
        ("batch_id", pa.string()),
        ("registered_at", pa.timestamp("us")),
        ("problem", pa.string()),
        ("compression", pa.string()),
        ("extra_columns", pa.list_(pa.string())),
        ("source", pa.string()),
    ]
)


def _run_row(result: IngestResult, at: datetime) -> pa.Table:
    row = asdict(result) | {"finished_at": at}
    return pa.Table.from_pylist([row])


if __name__ == "__main__":
    main()
