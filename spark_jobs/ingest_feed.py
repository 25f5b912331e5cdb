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

A history load ingests a range of days in one pass (`--until`): each day is decided, checked,
accounted and registered as its own night would, in one Spark job.

    python -m spark_jobs.ingest_feed --feed online_orders --date 2026-05-01 [--until 2026-05-31]
    python -m spark_jobs.ingest_feed --feed online_orders,pos_transactions --date 2026-05-01

Several feeds run in turn in one Spark application (`spark_jobs.each_feed`), as the nightly DAG
submits them on the cluster profile.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from databank.business_days import distinct_days
from databank.config import Settings
from databank.contracts import Contract, load_contract
from databank.keys import MissingKeyError
from databank.lakehouse import Lakehouse
from databank.landing import list_delivered
from databank.privacy.erasure import ERASURE_FEED, read_suppressed_tokens
from databank.privacy.vault import Vault
from databank.sources import load_sources, sources_of_feed
from spark_jobs.each_feed import run_job
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
    DELIVERY_DAY,
    FATE,
    QUARANTINE,
    SOURCE_FILE,
    SUPPRESSED,
    UNREAD,
    VAULT,
    destined,
    sorted_records,
)
from spark_jobs.transforms.validate import DeliveryWindow, WindowOfEachDay, type_and_check

FILES_TABLE = "ingested_files"
RUNS_TABLE = "ingest_runs"


class RowsLostError(RuntimeError):
    """Bronze and quarantine together do not hold what the files delivered."""


# Failures a retry cannot fix: the task fails at once (databank.pipeline, spark_jobs.not_retryable).
NOT_RETRYABLE_ERRORS = (MissingKeyError, RowsLostError)


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
    run_job("ingest", __doc__, argv, ingest_days, NOT_RETRYABLE_ERRORS)


def ingest(spark: SparkSession, lake: Lakehouse, settings: Settings, feed: str, day: date) -> IngestResult:
    """Ingest `feed` for `day`; see the module docstring."""
    return ingest_days(spark, lake, settings, feed, [day])[0]


def ingest_days(
    spark: SparkSession, lake: Lakehouse, settings: Settings, feed: str, days: list[date]
) -> list[IngestResult]:
    """Ingest `feed` for each of `days` in one pass (a history load reads a month at a time): every
    day's files are decided as its night would decide them, in order, each record is checked
    against its own day's delivery window, and each day is accounted, registered and logged as its
    own; a day whose rows do not add up stops the whole pass before anything is written."""
    days = distinct_days(days)
    contract = load_contract(feed)
    token = uuid.uuid4().hex[:12]
    ingested_at = datetime.now(UTC).replace(tzinfo=None)
    sources = sources_of_feed(load_sources(settings.ingest.sources), feed)
    seen = _earlier_checksums(spark, lake, feed, days)
    landing = settings.landing
    decisions = [
        decision
        for day in days
        for decision in decide(list_delivered(landing, contract, day, sources), seen, landing, day)
    ]
    _widen_register(spark, lake)
    # Staged copies hold raw identifiers. One ingest of a feed runs at a time, so whatever is under
    # the feed's staging folder now was left by a killed run and goes before anything is read.
    feed_staging = Path(settings.lakehouse) / "_staging" / feed
    shutil.rmtree(feed_staging, ignore_errors=True)
    staging = feed_staging / f"{days[0].isoformat()}-{token}"
    meta = {"feed": feed, "token": token, "at": ingested_at, "dt": days[0]}
    try:  # the staged files are read until bronze and quarantine are written
        raw = read_raw(spark, contract, decisions, staging, settings.pseudonymisation_key())
        with _outcome(raw, contract, settings, days, meta) as outcome:
            results = [_result_of_day(feed, day, token, decisions, outcome) for day in days]
            register = _file_register(decisions, feed, token, ingested_at, outcome.unread_keys)
            lost = [
                r
                for r in results
                if r.rows_delivered != r.rows_bronze + r.rows_quarantined + r.rows_suppressed
            ]
            if lost:  # checked before anything is written: the days stay as they were
                _record(lake, register, results, days, ingested_at)
                raise RowsLostError("; ".join(_rows_lost(result) for result in lost) + ": nothing written")
            where = {"dt": days}
            lake.replace(outcome.bronze, "bronze", feed, where, ["dt"])
            lake.replace(outcome.quarantine, "quarantine", feed, where, ["dt"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if outcome.vault_entries is not None:
        vaulted = _seal_identifiers(settings, outcome.vault_entries)
        results[-1] = replace(results[-1], identifiers_vaulted=vaulted)  # the pass seals them at once
    _record(lake, register, results, days, ingested_at)
    return results


def _result_of_day(
    feed: str, day: date, token: str, decisions: list[FileDecision], outcome: _Outcome
) -> IngestResult:
    of_day = [d for d in decisions if d.day == day]
    return IngestResult(
        batch_id=f"{feed}-{day.isoformat()}-{token}",
        feed=feed,
        dt=day,
        files_delivered=sum(d.status != IGNORED for d in of_day),
        files_ingested=sum(d.status == INGESTED for d in of_day),
        files_duplicate=sum(d.status == DUPLICATE for d in of_day),
        files_empty=sum(d.status == EMPTY for d in of_day),
        files_refused=sum(d.status == REFUSED for d in of_day),
        files_ignored=sum(d.status == IGNORED for d in of_day),
        rows_delivered=rows_delivered(of_day),
        rows_bronze=outcome.bronze_rows.get(day, 0),
        rows_quarantined=outcome.quarantine_rows.get(day, 0),
        rows_suppressed=outcome.suppressed.get(day, 0),
        identifiers_vaulted=0,
    )


def _rows_lost(result: IngestResult) -> str:
    return (
        f"{result.feed} {result.dt}: {result.rows_delivered} rows delivered, but {result.rows_bronze} "
        f"would go to bronze, {result.rows_quarantined} to quarantine and {result.rows_suppressed} are "
        f"suppressed (batch {result.batch_id})"
    )


def empty_bronze(spark: SparkSession, settings: Settings, feed: str, day: date) -> pa.Table:
    """Bronze of a day without any record: the shape ingestion gives `feed`'s rows, and no row."""
    contract = load_contract(feed)
    meta = {"feed": feed, "token": "none", "at": datetime.now(UTC).replace(tzinfo=None), "dt": day}
    with _outcome(read_raw(spark, contract, [], Path()), contract, settings, [day], meta) as outcome:
        return outcome.bronze.toArrow()


@dataclass(frozen=True)
class _Outcome:
    """What the days' records became, before any of it is written."""

    bronze: DataFrame
    quarantine: DataFrame
    bronze_rows: dict[date, int]
    quarantine_rows: dict[date, int]
    suppressed: dict[date, int]
    vault_entries: pa.Table | None  # None when no identifier type is vaulted
    unread_keys: dict[str, list[str]]  # by source file: JSON keys the contract does not know


@contextmanager
def _outcome(
    raw: DataFrame, contract: Contract, settings: Settings, days: list[date], meta: dict
) -> Iterator[_Outcome]:
    """The days' records sorted by fate, counted, and ready to be written while the context lasts."""
    tz = settings.business_timezone
    ingest_settings = settings.ingest
    late, tolerance = ingest_settings.late_days, ingest_settings.future_tolerance_minutes
    windows = {day: DeliveryWindow.for_day(day, settings.tz, late, tolerance) for day in days}
    window = WindowOfEachDay.of(windows, F.col(DELIVERY_DAY))
    junk = {"phone": ingest_settings.placeholder_phones, "device_id": ingest_settings.junk_device_ids}
    vaulted = settings.privacy.vault_identifier_types
    pseudonymised = pseudonymise(raw, contract, settings.pseudonymisation_key(), junk, vaulted)
    checked = type_and_check(pseudonymised, contract, window, tz, ingest_settings.earliest_plausible_time)
    # The people erased stay erased: their records are counted, never stored (not even in
    # quarantine). A request itself is not suppressed: it is how an erasure arrives.
    tokens = read_suppressed_tokens(settings) if contract.feed != ERASURE_FEED else []
    vault = vault_entries(checked.columns, contract) if vaulted else None
    # Every record's fate and rows are computed once and kept in memory for the counts and the
    # writes that follow. In memory only: the vault's entries hold identifiers in the clear, which
    # must not reach Spark's spill files; a part evicted is computed again from the staged files.
    records = sorted_records(checked, contract, is_suppressed(contract, tokens), vault)
    records = records.persist(StorageLevel.MEMORY_ONLY)
    try:
        # One pass for the counts and the unread keys: each file's records of a day and fate.
        summary = (
            records.groupBy(DELIVERY_DAY, FATE, SOURCE_FILE)
            .agg(F.count(F.lit(1)).alias("rows"), F.flatten(F.collect_set(UNREAD)).alias("keys"))
            .collect()
        )
        yield _Outcome(
            bronze=destined(records, BRONZE, meta),
            quarantine=destined(records, QUARANTINE, meta),
            bronze_rows=_count_by_day(summary, BRONZE),
            quarantine_rows=_count_by_day(summary, QUARANTINE),
            suppressed=_count_by_day(summary, SUPPRESSED),
            vault_entries=_vault_entries(records) if vaulted else None,
            unread_keys=_unread_keys(summary),
        )
    finally:
        records.unpersist()


def _count_by_day(summary: list[Row], fate: str) -> dict[date, int]:
    counts: dict[date, int] = {}
    for row in summary:
        if row[FATE] == fate:
            counts[row[DELIVERY_DAY]] = counts.get(row[DELIVERY_DAY], 0) + row["rows"]
    return counts


def _vault_entries(records: DataFrame) -> pa.Table:
    """The distinct identifiers the day's bronze records carry of the vaulted types: a day's devices
    recur in every ping, and the vault is handed each once."""
    entries = records.select(F.explode(VAULT).alias("entry")).select("entry.*")
    # Distinct within each task, then across them here: Spark's `distinct` would shuffle them, and
    # write them in the clear to its disk.
    each_task = entries.mapInArrow(_distinct_rows, entries.schema).toArrow()
    return each_task.group_by(each_task.schema.names).aggregate([])


def _distinct_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    batches = list(batches)
    if batches:
        rows = pa.Table.from_batches(batches)
        yield from rows.group_by(rows.schema.names).aggregate([]).to_batches()


def _unread_keys(summary: list[Row]) -> dict[str, list[str]]:
    """By source file, the JSON keys its lines hold that the contract does not know, masked."""
    by_file: dict[str, set[str]] = {}
    for row in summary:
        if row["keys"]:
            by_file.setdefault(row[SOURCE_FILE], set()).update(row["keys"])
    return {file: sorted(keys) for file, keys in sorted(by_file.items())}


def _seal_identifiers(settings: Settings, entries: pa.Table) -> int:
    """Seal the night's new identifiers of the vaulted types in the identifier vault."""
    return Vault.open(settings).store(entries)


def _record(
    lake: Lakehouse, register: pa.Table, results: list[IngestResult], days: list[date], at: datetime
) -> None:
    """Register the days' files and log a run of each day."""
    where = {"feed": results[0].feed, "dt": days}
    lake.replace(register, "ops", FILES_TABLE, where, ["feed"])
    runs = pa.Table.from_pylist([asdict(result) | {"finished_at": at} for result in results])
    lake.append(runs, "ops", RUNS_TABLE, ["feed"])


def _widen_register(spark: SparkSession, lake: Lakehouse) -> None:
    """A register written before it had all of today's columns gains them (a replace cannot)."""
    files = lake.read(spark, "ops", FILES_TABLE)
    if files is not None and set(FILES_SCHEMA.names) - set(files.columns):
        lake.append(FILES_SCHEMA.empty_table(), "ops", FILES_TABLE, ["feed"])


def _earlier_checksums(spark: SparkSession, lake: Lakehouse, feed: str, days: list[date]) -> dict[str, str]:
    """Checksums of files of this feed ingested for other days: re-deliveries of them are skipped."""
    files = lake.read_small(spark, "ops", FILES_TABLE, {"feed": [feed]}, ["checksum", "file", "status", "dt"])
    if files is None:
        return {}
    others = pc.invert(pc.is_in(files["dt"], pa.array(days, pa.date32())))
    rows = files.filter(pc.and_(pc.equal(files["status"], INGESTED), others))
    return dict(zip(rows["checksum"].to_pylist(), rows["file"].to_pylist(), strict=True))


def _file_register(
    decisions: list[FileDecision], feed: str, token: str, at: datetime, unread_keys: dict[str, list[str]]
) -> pa.Table:
    return pa.table(
        {
            "feed": [feed] * len(decisions),
            "dt": pa.array([d.day for d in decisions], pa.date32()),
            "file": [d.relative for d in decisions],
            "checksum": [d.file.checksum for d in decisions],
            "size_bytes": pa.array([d.file.size for d in decisions], pa.int64()),
            "rows": pa.array([d.file.rows for d in decisions], pa.int64()),
            "encoding": [d.file.encoding for d in decisions],
            "status": [d.status for d in decisions],
            "duplicate_of": [d.duplicate_of for d in decisions],
            "batch_id": [f"{feed}-{d.day.isoformat()}-{token}" for d in decisions],
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


if __name__ == "__main__":
    main()
