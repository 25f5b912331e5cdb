"""Ingest one feed's delivery for one local day: landing files -> bronze + quarantine (Delta).

Every delivered record ends in `bronze.<feed>` (typed, identifiers pseudonymised, ingestion
metadata on each row) or in `quarantine.<feed>` (with a reason and its raw text, identifier-like
values redacted); the job checks that the two add up to what the files hold and fails loudly if
they do not. A file whose bytes were already ingested (same sha256, under any name, on any day) is
skipped and registered as a duplicate. Re-running a day replaces that day's rows.

    python -m spark_jobs.ingest_feed --feed online_orders --date 2026-05-01
"""

from __future__ import annotations

import argparse
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StringType, StructField, StructType

from databank.config import Settings, load_settings
from databank.contracts import Contract, load_contract
from databank.lakehouse import Lakehouse, lakehouse_for
from databank.landing import DeliveredFile, decoded, list_delivered
from databank.privacy.erasure import ERASURE_FEED, read_suppressed_tokens
from databank.privacy.vault import Vault
from databank.spark_session import build_session
from spark_jobs.transforms.identifiers import pseudonymise
from spark_jobs.transforms.parse import (
    PARSE_ERROR,
    RAW,
    parquet_as_text,
    parse_csv_lines,
    parse_json_lines,
)
from spark_jobs.transforms.privacy import is_suppressed, vault_entries
from spark_jobs.transforms.records import SOURCE_CHECKSUM, SOURCE_FILE, to_bronze, to_quarantine
from spark_jobs.transforms.validate import (
    LAST_LINE_CUT,
    REASON,
    DeliveryWindow,
    type_and_check,
)

FILES_TABLE = "ingested_files"
RUNS_TABLE = "ingest_runs"
FILE_NAME = "_file_name"
SUPPRESSED = "_suppressed"


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
    rows_delivered: int
    rows_bronze: int
    rows_quarantined: int
    rows_suppressed: int
    identifiers_vaulted: int


@dataclass(frozen=True)
class FileDecision:
    file: DeliveredFile
    relative: str
    status: str  # ingested | duplicate | empty | unreadable
    duplicate_of: str | None = None


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
    delivered = list_delivered(settings.landing, contract, day)
    decisions = decide(delivered, _earlier_checksums(spark, lake, feed, day), settings.landing)
    # Staged copies hold raw identifiers. One ingest of a feed runs at a time, so whatever is under
    # the feed's staging folder now was left by a killed run and goes before anything is read.
    feed_staging = Path(settings.lakehouse) / "_staging" / feed
    shutil.rmtree(feed_staging, ignore_errors=True)
    staging = feed_staging / batch_id
    try:
        raw = read_raw(spark, contract, [d for d in decisions if d.status == "ingested"], staging)
        raw = raw.unionByName(_unreadable_files(spark, contract, decisions), allowMissingColumns=True)
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
        tokens = read_suppressed_tokens(settings) if feed != ERASURE_FEED else []
        checked = checked.withColumn(SUPPRESSED, is_suppressed(contract, tokens)).persist()
        kept = checked.where(~F.col(SUPPRESSED))
        meta = {"batch": batch_id, "at": ingested_at, "dt": day}
        valid = kept.where(F.col(REASON).isNull())
        bronze = valid.transform(to_bronze, contract, meta)
        quarantine = kept.where(F.col(REASON).isNotNull()).transform(to_quarantine, contract, meta)
        bronze_rows = _replace_day(lake, bronze, "bronze", feed, day)
        quarantined_rows = _replace_day(lake, quarantine, "quarantine", feed, day)
        suppressed_rows = checked.where(F.col(SUPPRESSED)).count()
        vaulted_count = _seal_identifiers(settings, vault_entries(valid, contract)) if vaulted else 0
        checked.unpersist()
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    result = IngestResult(
        batch_id=batch_id,
        feed=feed,
        dt=day,
        files_delivered=len(decisions),
        files_ingested=sum(d.status == "ingested" for d in decisions),
        files_duplicate=sum(d.status == "duplicate" for d in decisions),
        files_empty=sum(d.status == "empty" for d in decisions),
        # An unreadable file counts as one record: it is quarantined as one.
        rows_delivered=sum(
            d.file.rows if d.status == "ingested" else 1
            for d in decisions
            if d.status in ("ingested", "unreadable")
        ),
        rows_bronze=bronze_rows,
        rows_quarantined=quarantined_rows,
        rows_suppressed=suppressed_rows,
        identifiers_vaulted=vaulted_count,
    )
    lake.replace(
        _file_register(decisions, feed, day, batch_id, ingested_at),
        "ops",
        FILES_TABLE,
        {"feed": feed, "dt": day},
        ["feed"],
    )
    lake.append(_run_row(result, ingested_at), "ops", RUNS_TABLE, ["feed"])
    if result.rows_delivered != bronze_rows + quarantined_rows + suppressed_rows:
        raise RowsLostError(
            f"{feed} {day}: {result.rows_delivered} rows delivered, but {bronze_rows} in bronze, "
            f"{quarantined_rows} in quarantine and {suppressed_rows} suppressed (batch {batch_id})"
        )
    return result


def _seal_identifiers(settings: Settings, entries: DataFrame) -> int:
    """Seal the night's new identifiers of the vaulted types in the identifier vault."""
    # The night's distinct identifiers, not its records: small enough to hand to the driver.
    return Vault.open(settings).store(entries.toArrow())


def decide(delivered: list[DeliveredFile], earlier: dict[str, str], landing: Path) -> list[FileDecision]:
    """Which files to read: empty, unreadable and already-seen files are registered, not read."""
    seen = dict(earlier)
    decisions = []
    for file in delivered:
        relative = file.path.relative_to(landing).as_posix()
        if file.is_empty:
            decisions.append(FileDecision(file, relative, "empty"))
        elif file.checksum in seen:
            decisions.append(FileDecision(file, relative, "duplicate", seen[file.checksum]))
        elif file.rows is None:
            decisions.append(FileDecision(file, relative, "unreadable"))
        else:
            seen[file.checksum] = relative
            decisions.append(FileDecision(file, relative, "ingested"))
    return decisions


def read_raw(spark: SparkSession, contract: Contract, files: list[FileDecision], staging: Path) -> DataFrame:
    """Every record of `files` as contract columns of text, with its source and raw line."""
    frames = []
    text = [d for d in files if d.file.file_format != "parquet"]
    parquet = [d for d in files if d.file.file_format == "parquet"]
    if text:
        frames.append(_read_text(spark, contract, text, staging))
    if parquet:
        rows = spark.read.parquet(*(str(d.file.path) for d in parquet)).withColumn(
            FILE_NAME, F.col("_metadata.file_name")
        )
        frames.append(_with_sources(parquet_as_text(rows, contract), parquet, spark))
    if not frames:
        return _empty_raw(spark, contract)
    raw = frames[0]
    for frame in frames[1:]:
        raw = raw.unionByName(frame, allowMissingColumns=True)
    return raw


def _read_text(
    spark: SparkSession, contract: Contract, files: list[FileDecision], staging: Path
) -> DataFrame:
    paths = []
    for decision in files:
        file = decision.file
        if file.encoding == "utf-8":
            paths.append(str(file.path))
        else:  # Spark reads text as UTF-8: hand it a UTF-8 copy of GBK (or undecodable) files
            staging.mkdir(parents=True, exist_ok=True)
            copy = staging / file.path.name
            copy.write_text(decoded(file.path.read_bytes(), file.encoding), encoding="utf-8")
            paths.append(str(copy))
    lines = (
        spark.read.text(paths)
        .withColumn(FILE_NAME, F.col("_metadata.file_name"))
        .where(F.col("value").rlike(r"\S"))
    )
    lines = _with_sources(lines, files, spark)
    if files[0].file.file_format == "jsonl":
        parsed = parse_json_lines(lines, contract)
    else:
        header = next((d.file.header for d in files if d.file.header), ",".join(contract.column_names))
        parsed = parse_csv_lines(lines, contract, header)
    problem = F.col("_file_problem")
    return (
        parsed.withColumn(PARSE_ERROR, F.coalesce(problem, F.col(PARSE_ERROR)))
        .withColumn(LAST_LINE_CUT, F.col(RAW) == F.col("_cut_last_line"))
        .drop("_file_problem", "_cut_last_line")
    )


def _with_sources(frame: DataFrame, files: list[FileDecision], spark: SparkSession) -> DataFrame:
    sources = spark.createDataFrame(
        [
            (d.file.path.name, d.relative, d.file.checksum, d.file.problem, d.file.cut_last_line)
            for d in files
        ],
        StructType(
            [
                StructField(FILE_NAME, StringType()),
                StructField(SOURCE_FILE, StringType()),
                StructField(SOURCE_CHECKSUM, StringType()),
                StructField("_file_problem", StringType()),
                StructField("_cut_last_line", StringType()),
            ]
        ),
    )
    joined = frame.join(F.broadcast(sources), FILE_NAME).drop(FILE_NAME)
    if "value" in frame.columns:
        return joined
    return joined.drop("_file_problem", "_cut_last_line")


def _unreadable_files(spark: SparkSession, contract: Contract, decisions: list[FileDecision]) -> DataFrame:
    """One quarantine record per file that cannot be opened at all."""
    rows = [(d.relative, d.file.checksum, "unreadable_file") for d in decisions if d.status == "unreadable"]
    schema = StructType(
        [
            StructField(SOURCE_FILE, StringType()),
            StructField(SOURCE_CHECKSUM, StringType()),
            StructField(PARSE_ERROR, StringType()),
        ]
    )
    frame = spark.createDataFrame(rows, schema)
    for name in contract.column_names:
        frame = frame.withColumn(name, F.lit(None).cast(StringType()))
    return frame.withColumn(RAW, F.lit(None).cast(StringType())).withColumn(LAST_LINE_CUT, F.lit(False))


def _empty_raw(spark: SparkSession, contract: Contract) -> DataFrame:
    fields = [StructField(n, StringType()) for n in contract.column_names]
    fields += [StructField(n, StringType()) for n in (RAW, PARSE_ERROR, SOURCE_FILE, SOURCE_CHECKSUM)]
    fields.append(StructField(LAST_LINE_CUT, BooleanType()))
    return spark.createDataFrame([], StructType(fields))


def _replace_day(lake: Lakehouse, frame: DataFrame, layer: str, feed: str, day: date) -> int:
    arrow = frame.toArrow()
    lake.replace(arrow, layer, feed, {"dt": day}, ["dt"])
    return arrow.num_rows


def _earlier_checksums(spark: SparkSession, lake: Lakehouse, feed: str, day: date) -> dict[str, str]:
    """Checksums of files of this feed ingested for other days: re-deliveries of them are skipped."""
    files = lake.read(spark, "ops", FILES_TABLE, {"feed": [feed]})
    if files is None:
        return {}
    rows = files.where((F.col("status") == "ingested") & (F.col("dt") != F.lit(day))).select(
        "checksum", "file"
    )
    return {r["checksum"]: r["file"] for r in rows.collect()}


def _file_register(
    decisions: list[FileDecision], feed: str, day: date, batch_id: str, at: datetime
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
        },
        schema=FILES_SCHEMA,
    )


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
    ]
)


def _run_row(result: IngestResult, at: datetime) -> pa.Table:
    row = asdict(result) | {"finished_at": at}
    return pa.Table.from_pylist([row])


if __name__ == "__main__":
    main()
