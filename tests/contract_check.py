"""Row-level check of landing files against the feed contracts, written apart from the generator.

It reads each file the way an outside consumer would: JSON Lines line by line, CSV line by line after
decoding (strict UTF-8, else GBK), Parquet with pyarrow. Every record is held to its contract:
required fields present and non-empty, values of the declared type, enums, ranges, `require_any`,
and an event time that falls on the local day of the file's `dt=` folder. A line that does not
parse is a problem without a record id; it keeps its text so a caller can tell whose line it was.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq

from databank.contracts import Column, Contract, load_contract

LOCAL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
INTEGER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class Problem:
    """One record (or unreadable line) that breaks its contract, and why."""

    file: str
    record_id: str | None
    reason: str
    line: str = ""


@dataclass
class CheckedFile:
    """A landing file: the records that could be read, and the problems found in it."""

    file: str
    feed: str
    day: date
    records: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def clean_records(self) -> list[dict]:
        """Records with no problem, the ones a pipeline would load."""
        contract = load_contract(self.feed)
        bad = {p.record_id for p in self.problems}
        return [r for r in self.records if r.get(contract.record_id) not in bad]


# A record as read (None if its line does not parse), its line, and a reason already known to be wrong.
Entry = tuple[dict | None, str, str | None]


def check_file(root: Path, path: Path, tz: ZoneInfo) -> CheckedFile:
    """Read `root/<feed>/dt=<day>/<file>` by its format and check each of its records for `day` in `tz`."""
    contract = load_contract(path.parts[-3])
    day = date.fromisoformat(path.parent.name.removeprefix("dt="))
    checked = CheckedFile(path.relative_to(root).as_posix(), contract.feed, day)
    content = path.read_bytes()
    if not content:
        return checked
    if path.suffix == ".parquet":
        entries: Iterator[Entry] = ((row, "", None) for row in pq.read_table(path).to_pylist())
    else:
        lines = decode(content).splitlines()
        entries = _json_entries(lines) if path.suffix == ".jsonl" else _csv_entries(contract, lines)
    check = RecordCheck(contract, day, tz, from_text=path.suffix == ".csv")
    for record, line, reason in entries:
        if record is None:
            checked.problems.append(Problem(checked.file, None, reason, line))
            continue
        checked.records.append(record)
        reason = reason or check.problem(record)
        if reason:
            record_id = record.get(contract.record_id)
            checked.problems.append(Problem(checked.file, record_id and str(record_id), reason, line))
    return checked


def decode(content: bytes) -> str:
    """The text of a file in UTF-8 or, failing strict UTF-8, GBK (the legacy POS encoding)."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("gbk")


def _json_entries(lines: list[str]) -> Iterator[Entry]:
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            yield record, line, None
        else:
            yield None, line, "line is not a JSON object"


def _csv_entries(contract: Contract, lines: list[str]) -> Iterator[Entry]:
    """Rows as dicts, an empty field being a missing value; a row of the wrong width keeps only its id."""
    header = _csv_row(lines[0])
    if header != contract.column_names:
        yield None, lines[0], f"header {header} is not the contract's columns"
        return
    for line in lines[1:]:
        values = _csv_row(line)
        if not values:
            yield None, line, "line is not a CSV row"
        elif len(values) != len(header):
            yield {contract.record_id: values[0]}, line, f"row has {len(values)} fields, not {len(header)}"
        else:
            yield {name: value or None for name, value in zip(header, values, strict=True)}, line, None


def _csv_row(line: str) -> list[str] | None:
    try:
        return next(csv.reader([line], strict=True))
    except (csv.Error, StopIteration):
        return None


class RecordCheck:
    """Checks records of one feed delivered for one local day.

    `from_text` says the values are CSV text, to be parsed; otherwise they must have their type already.
    """

    def __init__(self, contract: Contract, day: date, tz: ZoneInfo, from_text: bool) -> None:
        self.contract, self.day, self.tz, self.from_text = contract, day, tz, from_text
        self.names = frozenset(contract.column_names)
        self.event_column = contract.event_time.column if contract.event_time else None

    def problem(self, record: dict) -> str | None:
        """Why `record` breaks the contract, or None if it does not."""
        unknown = record.keys() - self.names
        if unknown:
            return f"unknown fields {sorted(unknown)}"
        for column in self.contract.columns:
            reason = self._value_problem(column, record.get(column.name))
            if reason:
                return f"{column.name}: {reason}"
        for group in self.contract.require_any:
            if all(_is_empty(record.get(name)) for name in group):
                return f"none of {list(group)} is given"
        return None

    def _value_problem(self, column: Column, value) -> str | None:
        if _is_empty(value):
            return "required value missing" if column.required else None
        try:
            parsed = _parse(self.contract, column, value, self.from_text)
        except (KeyError, TypeError, ValueError) as error:
            return f"{value!r} is not a {column.type}: {error}"
        if column.enum and parsed not in column.enum:
            return f"{parsed!r} not in {list(column.enum)}"
        if column.min is not None and parsed < column.min:
            return f"{parsed} below {column.min}"
        if column.max is not None and parsed > column.max:
            return f"{parsed} above {column.max}"
        if column.name == self.event_column and local_date(parsed, self.tz) != self.day:
            return f"event time {value} falls on {local_date(parsed, self.tz)}, not {self.day}"
        return None


def _is_empty(value) -> bool:
    return value is None or value == ""


def _parse(contract: Contract, column: Column, value, from_text: bool):
    """The typed value of a field; raise if it is not one. CSV gives text, JSON and Parquet typed values."""
    if column.type == "string":
        return _expect(value, str)
    if column.type == "timestamp":
        return _parse_time(contract.event_time.zone, value)
    if column.type == "date":
        return date.fromisoformat(value) if isinstance(value, str) else _expect(value, date)
    if from_text:
        return _parse_text(column.type, _expect(value, str))
    if column.type == "float":
        return _finite(float(_expect(value, (int, float))))
    return _expect(value, {"int": int, "boolean": bool}[column.type])


def _parse_text(column_type: str, text: str):
    if column_type == "int":
        if not INTEGER.fullmatch(text):
            raise ValueError("not an integer")
        return int(text)
    if column_type == "float":
        return _finite(float(text))
    return {"true": True, "false": False}[text]


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _expect(value, kind):
    if isinstance(value, bool) and kind is not bool:
        raise TypeError(f"{value!r} is a boolean")
    if not isinstance(value, kind):
        raise TypeError(f"{value!r} is a {type(value).__name__}")
    return value


def _parse_time(zone: str, value) -> datetime:
    """A timestamp as the contract's zone rule spells it: aware for `offset` and `utc`, naive for `local`."""
    if zone == "local":
        return datetime.strptime(_expect(value, str), LOCAL_TIME_FORMAT)
    if zone == "utc" and isinstance(value, datetime):
        if value.utcoffset() is None or value.utcoffset().total_seconds():
            raise ValueError("Parquet timestamp is not UTC")
        return value
    text = _expect(value, str)
    if zone == "utc" and not text.endswith("Z"):
        raise ValueError("UTC time without a Z")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("no UTC offset")
    return parsed


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The business-day date of a timestamp (naive timestamps are local wall-clock already)."""
    return moment.date() if moment.tzinfo is None else moment.astimezone(tz).date()
