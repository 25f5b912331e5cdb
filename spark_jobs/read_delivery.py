"""The reading half of `spark_jobs.ingest_feed`: which of a day's delivered files are read, and their
records as one raw DataFrame (every contract column as text, with its source and raw line).

One file's shape (its header, its column order, a Parquet column whose type drifted) never decides
how another is read: text files share a reader only when everything that decides how they are read
is the same (format, header, field names, source mapping), and any other file is read on its own.
Every record carries its file, its file's checksum and its delivery day.
Spark reads a path as a glob: names are escaped. A file Spark cannot read as delivered (GBK,
a CSV record spanning lines, a JSON document, a name Hadoop cannot parse) is read from a staged
UTF-8 copy holding one record a line; staged copies hold raw identifiers, and the job removes them.

Spark splits a text file among its tasks, but reads a Parquet row group in one task: a night whose
records are mostly in one such file (a location SDK's day of pings) would be checked on one core while
the others wait. Such records are spread over the session's cores (`spread_partitions`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import reduce
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DateType, StringType, StructField, StructType

from databank.contracts import Contract
from databank.landing import MARKER, UNSUPPORTED_FORMAT, DeliveredFile, text_for_spark
from spark_jobs.transforms.mapping import translate, with_record_ids
from spark_jobs.transforms.parse import (
    PARSE_ERROR,
    RAW,
    parquet_as_text,
    parse_csv_lines,
    parse_json_lines,
)
from spark_jobs.transforms.records import DELIVERY_DAY, SOURCE_CHECKSUM, SOURCE_FILE
from spark_jobs.transforms.validate import LAST_LINE_CUT

# What became of a delivered file; only `ingested` files are read line by line.
INGESTED, DUPLICATE, EMPTY, UNREADABLE, REFUSED, IGNORED = (
    "ingested",
    "duplicate",
    "empty",
    "unreadable",
    "refused",
    "ignored",
)
# A file that cannot be opened counts as one record, quarantined with this reason.
UNOPENED_REASONS = {UNREADABLE: "unreadable_file", REFUSED: UNSUPPORTED_FORMAT}
GLOB_CHARACTERS = re.compile(r"([\\\[\]{}*?])")
# A path Spark reports back as it is (no character a URL would escape): its file is read with others.
PLAIN_PATH = re.compile(r"[A-Za-z0-9_./=+-]+")
BOM = "\ufeff"
# Below this many rows in one Parquet file, a shuffle to spread them costs more than the cores save.
SPREAD_FROM_ROWS = 50_000


@dataclass(frozen=True)
class FileDecision:
    file: DeliveredFile
    relative: str
    status: str  # ingested | duplicate | empty | unreadable | refused | ignored
    duplicate_of: str | None = None
    day: date | None = None  # the delivery day whose folder holds the file


def decide(
    delivered: list[DeliveredFile], earlier: dict[str, str], landing: Path, day: date | None = None
) -> list[FileDecision]:
    """Which files to read: markers, empty, refused, unreadable and already-seen files are
    registered, not read. `earlier` (checksum -> file) gains the files decided to be read."""
    decisions = []
    for file in delivered:
        relative = file.path.relative_to(landing).as_posix()
        if file.problem == MARKER:
            decisions.append(FileDecision(file, relative, IGNORED, day=day))
        elif file.is_empty:
            decisions.append(FileDecision(file, relative, EMPTY, day=day))
        elif file.checksum in earlier:
            decisions.append(FileDecision(file, relative, DUPLICATE, earlier[file.checksum], day))
        elif file.problem == UNSUPPORTED_FORMAT:
            decisions.append(FileDecision(file, relative, REFUSED, day=day))
        elif file.rows is None:
            decisions.append(FileDecision(file, relative, UNREADABLE, day=day))
        else:
            earlier[file.checksum] = relative
            decisions.append(FileDecision(file, relative, INGESTED, day=day))
    return decisions


def rows_delivered(decisions: list[FileDecision]) -> int:
    """Records the decisions owe bronze, quarantine or suppression: an unopened file owes one."""
    return sum(
        d.file.rows if d.status == INGESTED else 1
        for d in decisions
        if d.status == INGESTED or d.status in UNOPENED_REASONS
    )


def read_raw(
    spark: SparkSession,
    contract: Contract,
    decisions: list[FileDecision],
    staging: Path,
    record_key: bytes | None = None,
) -> DataFrame:
    """Every record of the ingested files, and one per unopened file, as contract columns of text.

    Text files read alike (same format, header, field names and mapping, nothing wrong with them)
    are read by one reader, each line knowing its file: a month of a feed is hundreds of files, and
    one query per file costs more to plan than to run. Any other file is read on its own.
    `record_key` keys the record ids a source mapping derives (the pseudonymisation key)."""
    alike: dict[tuple, list[tuple[int, FileDecision]]] = defaultdict(list)
    frames = []
    for n, decision in enumerate(decisions):
        if decision.status != INGESTED:
            continue
        file = decision.file
        read_alone = file.file_format == "parquet" or file.problem or file.cut_last_line is not None
        plain = PLAIN_PATH.fullmatch(str(staging if file.restaged else file.path))
        if read_alone or not plain:
            frames.append(_read_file(spark, contract, decision, staging, n, record_key))
        else:
            source = file.mapping.source if file.mapping else None
            alike[(file.file_format, file.header, file.columns, source)].append((n, decision))
    frames += [_read_alike(spark, contract, group, staging, record_key) for group in alike.values()]
    unopened = [d for d in decisions if d.status in UNOPENED_REASONS]
    if unopened:
        frames.append(_unopened_files(spark, contract, unopened))
    if not frames:
        return _empty_raw(spark, contract)
    raw = reduce(lambda left, right: left.unionByName(right, allowMissingColumns=True), frames)
    ingested = [d.file for d in decisions if d.status == INGESTED]
    partitions = spread_partitions(ingested, spark.sparkContext.defaultParallelism)
    if partitions is None:
        return raw
    # By a hash of the records' fields: a round-robin spread would sort every row first, to be
    # repeatable when a task is retried.
    return raw.repartition(partitions, *(F.col(name) for name in (*contract.column_names, SOURCE_FILE)))


def spread_partitions(files: list[DeliveredFile], cores: int) -> int | None:
    """How many partitions records read from `files` are spread over, or None to keep them as read:
    spread when one Parquet file (read by one task) holds more than a core's share of the rows and at
    least `SPREAD_FROM_ROWS` of them."""
    rows = sum(file.rows or 0 for file in files)
    largest = max((file.rows or 0 for file in files if file.file_format == "parquet"), default=0)
    if cores < 2 or largest < SPREAD_FROM_ROWS or largest * cores <= rows:
        return None
    return cores


def _read_file(
    spark: SparkSession,
    contract: Contract,
    decision: FileDecision,
    staging: Path,
    n: int,
    record_key: bytes | None,
) -> DataFrame:
    file = decision.file
    path = _readable_path(file, staging, n)
    if file.file_format == "parquet":
        rows = spark.read.parquet(path)
        if file.mapping:
            rows = rows.withColumnsRenamed({c: file.mapping.contract_name(c) for c in rows.columns})
        frame = parquet_as_text(rows, contract).withColumn(LAST_LINE_CUT, F.lit(False))
    else:
        frame = _read_text(spark, contract, file, path)
    if file.mapping:
        frame = translate(frame, file.mapping)
    frame = frame.withColumns(
        {
            SOURCE_FILE: F.lit(decision.relative),
            SOURCE_CHECKSUM: F.lit(file.checksum),
            DELIVERY_DAY: F.lit(decision.day).cast(DateType()),
        }
    )
    return with_record_ids(frame, file.mapping, record_key, SOURCE_FILE) if file.mapping else frame


def _read_alike(
    spark: SparkSession,
    contract: Contract,
    group: list[tuple[int, FileDecision]],
    staging: Path,
    record_key: bytes | None,
) -> DataFrame:
    """The records of text files read alike, by one reader; each line gets its file's register entry."""
    # Plain paths (no glob escapes), made absolute: Spark reports each line's file as an absolute URL.
    paths = {os.path.abspath(_readable_path(d.file, staging, n)): d for n, d in group}
    origins = spark.createDataFrame(
        [(path, d.relative, d.file.checksum, d.day) for path, d in paths.items()],
        StructType(
            [
                StructField("_read_path", StringType()),
                StructField(SOURCE_FILE, StringType()),
                StructField(SOURCE_CHECKSUM, StringType()),
                StructField(DELIVERY_DAY, DateType()),
            ]
        ),
    )
    lines = spark.read.text(list(paths)).withColumn("_read_path", F.input_file_name())
    lines = lines.withColumn("_read_path", F.expr("parse_url(_read_path, 'PATH')"))
    first = group[0][1].file
    frame = _read_text(spark, contract, first, lines).withColumn(LAST_LINE_CUT, F.lit(False))
    if first.mapping:
        frame = translate(frame, first.mapping)
    frame = frame.join(F.broadcast(origins), "_read_path").drop("_read_path")
    return with_record_ids(frame, first.mapping, record_key, SOURCE_FILE) if first.mapping else frame


def _read_text(
    spark: SparkSession, contract: Contract, file: DeliveredFile, source: str | DataFrame
) -> DataFrame:
    read = spark.read.text(source) if isinstance(source, str) else source
    lines = read.withColumn("value", F.regexp_replace("value", f"^{BOM}", "")).where(
        F.col("value").rlike(r"\S")
    )
    if file.file_format == "jsonl":
        parsed = parse_json_lines(lines, contract, file.mapping.source_names() if file.mapping else None)
    else:
        parsed = parse_csv_lines(lines, contract, file.header, list(file.columns) or None, file.dialect)
    if file.problem:  # every line of the file is unusable for the same reason
        parsed = parsed.withColumn(PARSE_ERROR, F.lit(file.problem))
    cut = F.col(RAW) == F.lit(file.cut_last_line) if file.cut_last_line is not None else F.lit(False)
    return parsed.withColumn(LAST_LINE_CUT, cut)


def _readable_path(file: DeliveredFile, staging: Path, n: int) -> str:
    """The path Spark is to read for `file`, glob characters escaped."""
    if not file.restaged:
        return GLOB_CHARACTERS.sub(r"\\\1", str(file.path))
    staging.mkdir(parents=True, exist_ok=True)
    copy = staging / f"{n:05d}.{file.file_format}"
    if file.file_format == "parquet":
        shutil.copyfile(file.path, copy)
    else:
        copy.write_text(text_for_spark(file), encoding="utf-8")
    return GLOB_CHARACTERS.sub(r"\\\1", str(copy))


def _unopened_files(spark: SparkSession, contract: Contract, decisions: list[FileDecision]) -> DataFrame:
    """One quarantine record per file that cannot be opened at all."""
    rows = [(d.relative, d.file.checksum, UNOPENED_REASONS[d.status], d.day) for d in decisions]
    schema = StructType(
        [
            StructField(SOURCE_FILE, StringType()),
            StructField(SOURCE_CHECKSUM, StringType()),
            StructField(PARSE_ERROR, StringType()),
            StructField(DELIVERY_DAY, DateType()),
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
    fields.append(StructField(DELIVERY_DAY, DateType()))
    return spark.createDataFrame([], StructType(fields))
