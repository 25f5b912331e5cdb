"""A dry run of ingestion over sample files: what each would become, written nowhere.

Each file is read by the mapping that would read it on a night (or the one asked for), translated
and judged by its feed's contract exactly as `spark_jobs.ingest_feed` does, and summarised per file
and column: which rule fills each column, how many records give it a value, and how many records
would be quarantined and why. Nothing is written: no lakehouse, no vault, no register; the UTF-8
copies of restaged files live in a temporary folder removed at the end. Only counts come back,
never a value, so the summary holds no identifier.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from databank.config import Settings
from databank.contracts import Column, Contract, DeliveryWindow, load_contract
from databank.delivered_text import CsvDialect
from databank.landing import (
    MARKER,
    UNDECODABLE,
    UNEXPECTED_HEADER,
    UNREADABLE,
    UNSUPPORTED_FORMAT,
    delivered_file,
)
from databank.sources import SourceMapping
from spark_jobs.read_delivery import decide, read_raw
from spark_jobs.transforms.validate import REASON, REASON_COLUMN, type_and_check

REJECTING_PROBLEMS = {UNSUPPORTED_FORMAT, UNREADABLE, UNDECODABLE, UNEXPECTED_HEADER}
NO_FEED = "no_source_mapping_matches"


@dataclass(frozen=True)
class ColumnReport:
    name: str
    filled_by: str  # the source column, a constant, or nothing
    rules: tuple[str, ...]  # the mapping's rules on it: value map, time spelling, scale
    identifier: str | None  # the identifier type the contract gives it
    values: int  # records that give it a value after translation
    quarantined: dict[str, int] = field(default_factory=dict)  # by reason, of the records it failed


@dataclass(frozen=True)
class FileReport:
    file: str
    source: str | None
    feed: str | None
    file_format: str | None = None
    encoding: str | None = None
    compression: str | None = None
    fields: str | None = None  # CSV: how its fields are separated
    records: int = 0
    valid: int = 0
    rejected_whole: str | None = None  # why no record of the file would be read
    record_reasons: dict[str, int] = field(default_factory=dict)  # reasons of no one column
    columns: tuple[ColumnReport, ...] = ()
    extra_columns: tuple[str, ...] = ()

    @property
    def quarantined(self) -> int:
        return self.records - self.valid


def check_files(
    spark: SparkSession,
    settings: Settings,
    files: list[tuple[Path, Path]],
    sources: tuple[SourceMapping, ...],
    feed: str | None,
    day: date | None,
    forced: bool = False,
) -> list[FileReport]:
    """A report per (path, its path within the sample folder). `sources` are the mappings a file
    may be read by (`forced`: the one mapping reads every file, whatever its name); a file none
    matches is read as `feed`'s contract spells it, when a feed is given. Times are judged for
    delivery on `day` (unset: no late or future window)."""
    with tempfile.TemporaryDirectory(prefix="databank-sources-check-") as staging:
        return [
            _check(
                spark,
                settings,
                path,
                within,
                _mapping_of(within, sources, forced),
                feed,
                day,
                Path(staging) / str(n),
            )
            for n, (path, within) in enumerate(files)
        ]


def _mapping_of(within: Path, sources: tuple[SourceMapping, ...], forced: bool) -> SourceMapping | None:
    if forced:
        return sources[0]
    return next((m for m in sources if m.matches(within)), None)


def _check(spark, settings, path, within, mapping, feed, day, staging) -> FileReport:
    feed = mapping.feed if mapping else feed
    if feed is None:
        return FileReport(within.as_posix(), None, None, rejected_whole=NO_FEED)
    contract = load_contract(feed)
    # Read by its mapping even when a forced one's pattern does not match its name.
    reading = (mapping.model_copy(update={"files": "*"}),) if mapping else ()
    delivered = delivered_file(path, within, contract, reading)
    report = FileReport(
        within.as_posix(),
        mapping.source if mapping else None,
        feed,
        delivered.file_format,
        delivered.encoding,
        delivered.compression,
        _fields(delivered.dialect) if delivered.file_format == "csv" else None,
        delivered.rows or 0,
        extra_columns=delivered.extra_columns,
    )
    if delivered.problem == MARKER or delivered.is_empty:
        return report
    if delivered.problem in REJECTING_PROBLEMS:
        return replace(report, rejected_whole=delivered.problem)
    decisions = decide([delivered], {}, path.parent)
    window = (
        DeliveryWindow.for_day(
            day, settings.tz, settings.ingest.late_days, settings.ingest.future_tolerance_minutes
        )
        if day
        else None
    )
    # A dry run keeps no record id: a throwaway key tells its records apart, without the brand's key.
    raw = read_raw(spark, contract, decisions, staging, secrets.token_bytes(32))
    checked = type_and_check(
        raw, contract, window, settings.business_timezone, settings.ingest.earliest_plausible_time
    )
    return _counted(report, checked, contract, mapping)


def _counted(report: FileReport, checked, contract: Contract, mapping: SourceMapping | None) -> FileReport:
    """The report with the file's counts, computed in one Spark action."""
    summary = (
        checked.groupBy(REASON, REASON_COLUMN)
        .agg(
            F.count(F.lit(1)).alias("records"),
            *(F.count(F.col(name)).alias(f"values:{name}") for name in contract.column_names),
        )
        .collect()
    )
    reasons: dict[tuple[str | None, str | None], int] = {
        (r[REASON], r[REASON_COLUMN]): r["records"] for r in summary
    }
    values = {name: sum(r[f"values:{name}"] for r in summary) for name in contract.column_names}
    columns = tuple(
        ColumnReport(
            name,
            _filled_by(name, mapping),
            _rules(name, mapping),
            _identifier(column),
            values[name],
            {reason: n for (reason, on), n in reasons.items() if reason and on == name},
        )
        for name, column in ((c.name, c) for c in contract.columns)
    )
    return replace(
        report,
        valid=reasons.get((None, None), 0),
        record_reasons={reason: n for (reason, on), n in reasons.items() if reason and on is None},
        columns=columns,
    )


def _identifier(column: Column) -> str | None:
    if column.identifier is None:
        return None
    return column.identifier.type or f"named by {column.identifier.type_column}"


def _fields(dialect: CsvDialect) -> str:
    if dialect.splits_on_blanks:
        return "separated by blanks, unquoted"
    return f"separated by {dialect.separator!r}, quoted by {dialect.quote!r}"


def _filled_by(name: str, mapping: SourceMapping | None) -> str:
    if mapping and name in mapping.constants:
        return f"constant {mapping.constants[name]!r}"
    if mapping and name in mapping.derived:
        return "derived"
    return mapping.source_names()[name] if mapping else name


def _rules(name: str, mapping: SourceMapping | None) -> tuple[str, ...]:
    if mapping is None:
        return ()
    rules = []
    if name in mapping.values:
        rule = mapping.values[name]
        rules.append(f"value map ({len(rule.map)} values, unknown: {rule.default or rule.unknown})")
    if name in mapping.times:
        time = mapping.times[name]
        spelled = f"epoch {time.epoch}" if time.epoch else f"'{time.format}'"
        rules.append(f"time {spelled}" + (f" in {time.zone}" if time.zone else ""))
    if name in mapping.scale:
        rules.append(f"scale x{mapping.scale[name]:g}")
    if name in mapping.derived:
        derived = mapping.derived[name]
        if derived.hash_of:
            rules.append("keyed hash of the record and its occurrence in its file")
        else:
            rules.append(f"{derived.divide[0]} / {derived.divide[1]}")
    return tuple(rules)
