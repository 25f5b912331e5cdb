"""Feed contracts: the typed view of the YAML files in schemas/, the one source of truth for what
each feed delivers (columns, types, required fields, enums or patterns, ranges, record id,
identifiers, time).

The generator writes to them, ingestion parses and validates by them, quality suites are built
from them; nothing else restates a feed's columns. The rules that derive stored names and the
delivery window from a contract live here too, so the Spark jobs and the quality suites (which need
no Spark) share one definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from databank.resources import contracts_folder

SCHEMAS_DIR = contracts_folder()

ColumnType = Literal["string", "int", "float", "boolean", "date", "timestamp"]
FileFormat = Literal["jsonl", "csv", "parquet"]
IdentifierType = Literal["phone", "member_id", "account_id", "device_id", "cookie_id", "payment_token"]

# How a feed's event time is to be read: `offset` values carry their own UTC offset, `utc` values
# are UTC, `local` values are wall-clock times of the business time zone.
ZoneRule = Literal["offset", "utc", "local"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IdentifierSpec(_Strict):
    """A column that holds a personal identifier, to be normalised and pseudonymised."""

    type: IdentifierType | None = None
    type_column: str | None = Field(None, description="Column naming the identifier type, row by row.")
    namespace_column: str | None = Field(None, description="Column that scopes the value, e.g. platform.")

    @model_validator(mode="after")
    def _one_type_source(self) -> IdentifierSpec:
        if (self.type is None) == (self.type_column is None):
            raise ValueError("an identifier names exactly one of `type` and `type_column`")
        return self


class Column(_Strict):
    name: str
    type: ColumnType
    required: bool
    description: str
    enum: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = Field(
        None,
        description="A regular expression every value matches whole (an open list of names, e.g. platforms).",
    )
    identifier: IdentifierSpec | None = None
    free_text: bool = Field(
        False,
        description="Typed by a person (search text, receipt notes): a phone or id typed into it is masked "
        "before anything is stored.",
    )

    @model_validator(mode="after")
    def _pattern_on_text(self) -> Column:
        if self.pattern is None:
            return self
        if self.type != "string":
            raise ValueError(f"{self.name}: only a string column has a pattern")
        try:
            re.compile(self.pattern)
        except re.error as error:
            raise ValueError(
                f"{self.name}: pattern {self.pattern!r} is no regular expression ({error})"
            ) from None
        return self

    @model_validator(mode="after")
    def _free_text_is_a_string(self) -> Column:
        if self.free_text and (self.type != "string" or self.identifier is not None):
            raise ValueError(f"{self.name}: only a string column that is no identifier can be free text")
        return self


class EventTime(_Strict):
    column: str
    zone: ZoneRule


class Contract(_Strict):
    feed: str
    version: int = Field(ge=1)
    kind: Literal["event", "reference"] = "event"
    description: str
    format: FileFormat | tuple[FileFormat, ...]
    encoding: str | tuple[str, ...] = "utf-8"
    grain: str
    file_pattern: str
    record_id: str
    event_time: EventTime | None = None
    require_any: tuple[tuple[str, ...], ...] = ()
    columns: tuple[Column, ...]

    @model_validator(mode="after")
    def _references_exist(self) -> Contract:
        names = set(self.column_names)
        if len(names) != len(self.columns):
            raise ValueError(f"{self.feed}: duplicate column names")
        referenced = {self.record_id, *(c for group in self.require_any for c in group)}
        if self.event_time:
            referenced.add(self.event_time.column)
        for column in self.columns:
            if column.identifier:
                referenced |= {column.identifier.namespace_column, column.identifier.type_column} - {None}
        missing = referenced - names
        if missing:
            raise ValueError(f"{self.feed}: contract refers to unknown columns {sorted(missing)}")
        return self

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def formats(self) -> tuple[FileFormat, ...]:
        return self.format if isinstance(self.format, tuple) else (self.format,)

    @property
    def encodings(self) -> tuple[str, ...]:
        return self.encoding if isinstance(self.encoding, tuple) else (self.encoding,)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def free_text_columns(self) -> list[Column]:
        return [c for c in self.columns if c.free_text]

    @property
    def identifier_columns(self) -> list[Column]:
        return [c for c in self.columns if c.identifier]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.feed} has no column {name!r}")


@cache
def load_contract(feed: str, schemas_dir: Path = SCHEMAS_DIR) -> Contract:
    """The contract of one feed, read from `schemas_dir/<feed>.yaml`."""
    path = schemas_dir / f"{feed}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in schemas_dir.glob("*.yaml")))
        raise KeyError(f"no contract for feed {feed!r} in {schemas_dir} (known: {known})")
    contract = Contract.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    if contract.feed != feed:
        raise ValueError(f"{path} declares feed {contract.feed!r}")
    return contract


def all_contracts(schemas_dir: Path = SCHEMAS_DIR) -> dict[str, Contract]:
    """Every contract in `schemas_dir`, by feed name."""
    return {p.stem: load_contract(p.stem, schemas_dir) for p in sorted(schemas_dir.glob("*.yaml"))}


def feeds(kind: Literal["event", "reference"], schemas_dir: Path = SCHEMAS_DIR) -> list[str]:
    """Names of the feeds of one kind, in alphabetical order."""
    return [name for name, c in all_contracts(schemas_dir).items() if c.kind == kind]


def hashed_names(contract: Contract) -> dict[str, str]:
    """How bronze names each (already hashed) identifier column."""
    return {c.name: f"{c.name}_hmac" for c in contract.identifier_columns}


def local_date_column(time_column: str) -> str:
    """`paid_at` -> `paid_date`: the local business day of an event time."""
    return time_column.removesuffix("_at") + "_date"


@dataclass(frozen=True)
class DeliveryWindow:
    """The UTC instants an event delivered on a local day may carry."""

    earliest: datetime
    latest: datetime

    @classmethod
    def for_day(cls, day: date, tz: ZoneInfo, late_days: int, tolerance_minutes: int) -> DeliveryWindow:
        start = datetime(day.year, day.month, day.day, tzinfo=tz)
        end = start + timedelta(days=1, minutes=tolerance_minutes)
        first = start - timedelta(days=late_days)
        return cls(_naive_utc(first), _naive_utc(end))


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
