"""`databank sources land`: a history delivered as one file, split into the day folders it is read from.

`databank load-history` reads a feed's deliveries day by day, `<landing>/<feed>/dt=YYYY-MM-DD/`,
each record judged against its own day. A brand's first export is often one file holding years:
landing it writes each record, its delivered text unchanged (header repeated, same encoding,
compression and line breaks), into the folder of the local business day its event time falls on,
under the file's own name, so its source mapping reads every day file. The time is read by the
mapping's `times` rule, as ingestion reads it (`databank.spark_datetime` for Spark patterns); a
record whose time does not read goes to the last day's folder, where ingestion quarantines it with
its reason: every record lands. Pure Python: records are split as `databank.delivered_text` counts
them, so the day files together hold exactly the records the one file delivered.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from databank.contracts import Contract
from databank.delivered_text import record_fields
from databank.landing import GZIP, DeliveredFile, delivered_file, delivered_records, landing_folder
from databank.sources import SourceMapping, TimeFormat
from databank.spark_datetime import UnsupportedPatternError, parser

EPOCH = {"seconds": 1, "milliseconds": 1000}


class LandingRefusedError(ValueError):
    """A file that cannot be landed as asked; nothing was written."""


@dataclass(frozen=True)
class LandedFile:
    records: int
    days: dict[date, int]  # records written per day folder
    without_time: int  # of them, records whose time did not read, in the last day's folder
    feed_folder: Path


def land_file(path: Path, mapping: SourceMapping, landing: Path, tz: ZoneInfo) -> LandedFile:
    """Write each record of `path` into `<landing>/<feed>/dt=<its day>/<path's name>`."""
    contract = mapping.contract
    if not mapping.matches(Path(path.name)):
        raise LandingRefusedError(
            f"source {mapping.source} reads files named {mapping.files!r}, not {path.name!r}: "
            "its day files would be read by no mapping"
        )
    if contract.event_time is None:
        raise LandingRefusedError(f"{contract.feed} is reference data: it has no event time to land it by")
    delivered = delivered_file(path, Path(path.name), contract, (mapping,))
    if delivered.problem or delivered.rows is None or delivered.file_format == "parquet":
        why = delivered.problem or "a Parquet file is landed as it is, in one day folder"
        raise LandingRefusedError(
            f"{path.name} cannot be split by day ({why}; `databank sources check` tells more)"
        )
    records, line_break = delivered_records(delivered)
    day_of = _day_reader(mapping, contract, delivered, tz)
    days = [day_of(record) for record in records]
    known = [day for day in days if day is not None]
    if not known:
        raise LandingRefusedError(
            f"no record of {path.name} has a {contract.event_time.column} that reads by source "
            f"{mapping.source}'s rule: check its `times` with `databank sources check`"
        )
    by_day: dict[date, list[str]] = defaultdict(list)
    for record, day in zip(records, days, strict=True):
        by_day[day or max(known)].append(record)
    targets = {day: landing_folder(landing, contract.feed, day) / path.name for day in sorted(by_day)}
    if taken := [target for target in targets.values() if target.exists()]:
        raise LandingRefusedError(
            f"{len(taken)} day folder(s) already hold a file named {path.name}, e.g. {taken[0]}: "
            "nothing written. Remove them to land the file again, or land it under another name."
        )
    for day, target in targets.items():
        _write(target, delivered, by_day[day], line_break)
    return LandedFile(
        len(records),
        {day: len(lines) for day, lines in sorted(by_day.items())},
        len(days) - len(known),
        landing / contract.feed,
    )


def _write(target: Path, delivered: DeliveredFile, records: list[str], line_break: str) -> None:
    lines = [delivered.header, *records] if delivered.header is not None else records
    content = "".join(line + line_break for line in lines).encode(delivered.encoding or "utf-8")
    if delivered.compression == GZIP:
        content = gzip.compress(content, mtime=0)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written aside under a marker's name (never read), then renamed: no half file is ever ingested.
    partial = target.with_name(f"_{target.name}.partial")
    partial.write_bytes(content)
    os.replace(partial, target)


def _day_reader(
    mapping: SourceMapping, contract: Contract, delivered: DeliveredFile, tz: ZoneInfo
) -> Callable[[str], date | None]:
    """The local business day of a record's event time, or None when it does not read."""
    column = contract.event_time.column
    if delivered.file_format == "jsonl":
        key = mapping.source_names()[column]

        def value(record: str) -> str | None:
            try:
                found = json.loads(record).get(key)
            except (ValueError, AttributeError):
                return None
            return None if found is None else str(found)
    else:
        if column not in delivered.columns:
            raise LandingRefusedError(f"{delivered.path.name} has no field that fills {column}")
        index = delivered.columns.index(column)

        def value(record: str) -> str | None:
            fields = record_fields(record, delivered.dialect)
            return fields[index] if index < len(fields) else None

    instant = _time_reader(mapping.times.get(column), contract.event_time.zone, tz)

    def day(record: str) -> date | None:
        text = value(record)
        at = instant(text) if text is not None else None
        return at.astimezone(tz).date() if at is not None else None

    return day


def _time_reader(rule: TimeFormat | None, zone_rule: str, tz: ZoneInfo) -> Callable[[str], datetime | None]:
    """The instant a time's text spells, read as ingestion reads it; None when it does not read."""
    if rule is not None and rule.epoch:
        per_second = EPOCH[rule.epoch]

        def epoch(text: str) -> datetime | None:
            digits = text.strip()
            if not digits.lstrip("+-").isdigit():
                return None
            return datetime.fromtimestamp(int(digits) / per_second, UTC)

        return epoch
    # A time without an offset: the mapping's zone, else the contract's rule (docs/ingestion.md).
    zone = ZoneInfo(rule.zone) if rule and rule.zone else {"utc": UTC, "local": tz}.get(zone_rule)
    if rule is not None:
        try:
            wall_clock = parser(rule.format)
        except UnsupportedPatternError as error:
            raise LandingRefusedError(f"`sources land` cannot read this source's times: {error}") from None
    else:

        def wall_clock(text: str) -> datetime | None:
            try:
                return datetime.fromisoformat(text.strip())
            except ValueError:
                return None

    def instant(text: str) -> datetime | None:
        at = wall_clock(text)
        if at is None or at.tzinfo is not None:
            return at
        return at.replace(tzinfo=zone) if zone else None

    return instant
