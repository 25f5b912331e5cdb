"""Source mappings: how a brand's own files translate into a feed's contract, as configuration.

A brand's systems export what they export: their column names, a semicolon or a tab between
fields, no header, GBK, gzip without `.gz`, Chinese platform names, amounts in cents, times as
`2024/03/01 14:05:00` or epoch milliseconds, no `platform` column at all, no line id, only a line's
amount and not its unit price. A mapping
(`sources/<name>.yaml`, one per source) says how its files become the contract's shape; the contract
in `schemas/` stays the only canonical shape, and everything after the translation (validation,
pseudonymisation, quarantine, row accounting) is the same as for a file delivered in it.

A mapping applies to the files of its feed's day folder whose name matches its `files` pattern; a
file that matches none is read as the contract spells it. Rules are checked against the contract
when the mapping is loaded, so a mapping that names an unknown column, maps a value outside a
column's enum or scales a text column fails at once, with its file and rule in the message.
"""

from __future__ import annotations

import codecs
import fnmatch
from pathlib import Path, PurePosixPath
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from databank.contracts import Contract, load_contract
from databank.delivered_text import WHITESPACE, WHITESPACE_SEPARATED, CsvDialect

MappedFormat = Literal["csv", "jsonl", "parquet"]


class SourceError(ValueError):
    """A source mapping that cannot be used: its file and what is wrong with it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvSettings(_Strict):
    """The CSV dialect of a source; `columns` names the fields of a file without a header.

    `separator: whitespace` splits fields at runs of spaces and tabs and quotes nothing."""

    separator: str = Field(",", description="One character, or `whitespace`.")
    quote: str = Field('"', min_length=1, max_length=1)
    header: bool = True
    columns: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _headerless_files_are_named(self) -> CsvSettings:
        if not self.header and not self.columns:
            raise ValueError("csv: a source without a header names its fields in `columns`")
        if self.separator == WHITESPACE:
            if "quote" in self.model_fields_set:
                raise ValueError("csv: whitespace-separated fields are never quoted: drop `quote`")
        elif len(self.separator) != 1:
            raise ValueError(f"csv: the separator is one character or `{WHITESPACE}`, not {self.separator!r}")
        elif self.separator == self.quote:
            raise ValueError("csv: the separator and the quote must differ")
        return self

    @property
    def dialect(self) -> CsvDialect:
        if self.separator == WHITESPACE:
            return WHITESPACE_SEPARATED
        return CsvDialect(self.separator, self.quote)


class ValueMap(_Strict):
    """Source values to contract values; what an unknown value becomes."""

    map: dict[str, str]
    unknown: Literal["keep", "quarantine", "default"] = Field(
        "keep",
        description="keep: the value goes on as delivered (a contract enum still quarantines it); "
        "quarantine: the record is quarantined as `unmapped_value`; default: it becomes `default`.",
    )
    default: str | None = None

    @model_validator(mode="after")
    def _default_when_asked(self) -> ValueMap:
        if (self.unknown == "default") != (self.default is not None):
            raise ValueError("a value map gives `default` exactly when `unknown` is 'default'")
        return self


class TimeFormat(_Strict):
    """How a source spells a time: a Spark datetime pattern, or epoch seconds or milliseconds.

    `zone` is the zone of a time that carries no offset of its own (an IANA name such as
    `Asia/Shanghai`, or `UTC`); without it, the contract's zone rule reads the time.
    """

    format: str | None = None
    epoch: Literal["seconds", "milliseconds"] | None = None
    zone: str | None = None

    @model_validator(mode="after")
    def _one_spelling(self) -> TimeFormat:
        if (self.format is None) == (self.epoch is None):
            raise ValueError("a time names exactly one of `format` and `epoch`")
        if self.epoch and self.zone:
            raise ValueError("an epoch time is an instant: it takes no `zone`")
        if self.zone:
            try:
                ZoneInfo(self.zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"zone {self.zone!r} is no IANA time zone") from None
        return self


class DerivedColumn(_Strict):
    """A contract column the source lacks, computed from the record: exactly one rule.

    `hash_of: record`: a keyed hash (the pseudonymisation key) of the record as delivered and its
    occurrence among identical records of its file: the same record delivered again gets the same
    id, identical records of one file get distinct ids, and no id can be reversed into the record.
    `divide: [a, b]`: a / b of two amount or count columns, after their scale; a divisor of zero or
    no number leaves a value that is no number, and a missing operand none: the contract quarantines
    either, never reads 0.
    """

    hash_of: Literal["record"] | None = None
    divide: tuple[str, str] | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> DerivedColumn:
        if (self.hash_of is None) == (self.divide is None):
            raise ValueError("a derived column names exactly one of `hash_of` and `divide`")
        return self


class SourceMapping(_Strict):
    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    feed: str
    description: str = ""
    files: str = Field(description="Glob on the file's path within the day folder, e.g. 'shop_*.csv*'.")
    format: MappedFormat | None = Field(None, description="Read as this format whatever the suffix says.")
    compression: Literal["gzip", "none"] | None = Field(None, description="Unset: `.gz` names are gzip.")
    encoding: str | None = Field(None, description="Unset: UTF-8, or GBK where the contract allows it.")
    csv: CsvSettings = CsvSettings()
    key_case: Literal["exact", "upper", "lower"] = Field(
        "exact", description="The source spells the contract's column names in this case."
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="Source column (or JSON key) -> contract column."
    )
    values: dict[str, ValueMap] = Field(default_factory=dict)
    times: dict[str, TimeFormat] = Field(default_factory=dict)
    scale: dict[str, float] = Field(
        default_factory=dict, description="Multiply the amount, e.g. 0.01 for cents."
    )
    constants: dict[str, str] = Field(default_factory=dict, description="Columns the source lacks, filled.")
    derived: dict[str, DerivedColumn] = Field(
        default_factory=dict, description="Columns the source lacks, computed from each record."
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        try:
            return value if value is None else codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"encoding {value!r} is unknown to Python's codecs") from None

    @property
    def contract(self) -> Contract:
        return load_contract(self.feed)

    def matches(self, within_day: PurePosixPath | Path) -> bool:
        """Whether a file at `within_day` (its path inside the day folder) is this source's."""
        path = PurePosixPath(within_day).as_posix()
        return fnmatch.fnmatchcase(path, self.files) or fnmatch.fnmatchcase(
            PurePosixPath(path).name, self.files
        )

    def source_names(self) -> dict[str, str]:
        """Contract column -> the name the source gives it, for every column the source delivers."""
        renamed = {target: name for name, target in self.columns.items()}
        cased = {name: _cased(name, self.key_case) for name in self.contract.column_names}
        return {
            name: renamed.get(name, cased[name])
            for name in self.contract.column_names
            if name not in self.constants and name not in self.derived
        }

    def contract_name(self, source_name: str) -> str:
        """The contract column a source column fills; a name it does not know stays as it is."""
        by_source = {source: name for name, source in self.source_names().items()}
        return by_source.get(source_name, source_name)

    @model_validator(mode="after")
    def _rules_fit_the_contract(self) -> SourceMapping:
        contract = _contract_of(self.feed)
        known = set(contract.column_names)
        rules = {
            "columns": set(self.columns.values()),
            "values": set(self.values),
            "times": set(self.times),
            "scale": set(self.scale),
            "constants": set(self.constants),
            "derived": set(self.derived) | {n for rule in self.derived.values() for n in rule.divide or ()},
        }
        for rule, names in rules.items():
            if unknown := names - known:
                raise ValueError(f"{rule}: {sorted(unknown)} are no columns of the {self.feed} contract")
        if filled_twice := set(self.columns.values()) & set(self.constants):
            raise ValueError(f"constants: {sorted(filled_twice)} are also read from the source's columns")
        if filled_twice := set(self.derived) & (set(self.columns.values()) | set(self.constants)):
            raise ValueError(f"derived: {sorted(filled_twice)} are also read from the source or constants")
        targets = list(self.columns.values())
        if len(set(targets)) != len(targets):
            raise ValueError("columns: two source columns fill the same contract column")
        for name in self.times:
            if contract.column(name).type not in ("timestamp", "date"):
                raise ValueError(f"times: {name} is a {contract.column(name).type} column, not a time")
        for name in self.scale:
            if contract.column(name).type != "float":
                raise ValueError(f"scale: {name} is a {contract.column(name).type} column, not an amount")
        for name, rule in self.derived.items():
            _check_derived(contract, name, rule, set(self.derived))
        for name, value_map in self.values.items():
            _check_values(contract, name, value_map)
        for name, value in self.constants.items():
            _check_values(contract, name, ValueMap(map={value: value}))
        return self


def _contract_of(feed: str) -> Contract:
    try:
        return load_contract(feed)
    except KeyError as error:
        raise ValueError(str(error)) from None


def _check_derived(contract: Contract, name: str, rule: DerivedColumn, derived: set[str]) -> None:
    column_type = contract.column(name).type
    if rule.hash_of and column_type != "string":
        raise ValueError(f"derived: {name} is a {column_type} column; a hash fills an id (a string)")
    if rule.divide:
        if column_type != "float":
            raise ValueError(f"derived: {name} is a {column_type} column; a quotient fills an amount")
        for operand in rule.divide:
            if contract.column(operand).type not in ("float", "int"):
                raise ValueError(f"derived: {name} divides {operand}, which is no number column")
            if operand in derived:
                raise ValueError(f"derived: {name} divides {operand}, itself derived")


def _check_values(contract: Contract, name: str, value_map: ValueMap) -> None:
    enum = contract.column(name).enum
    if not enum:
        return
    given = set(value_map.map.values()) | ({value_map.default} - {None})
    if outside := given - set(enum):
        raise ValueError(f"values: {sorted(outside)} are outside {name}'s values {list(enum)}")


def _cased(name: str, key_case: str) -> str:
    return {"exact": name, "upper": name.upper(), "lower": name.lower()}[key_case]


def load_sources(folder: Path) -> dict[str, SourceMapping]:
    """Every source mapping in `folder` (`<source>.yaml`), by name; none when the folder is absent."""
    if not folder.is_dir():
        return {}
    sources = {}
    for path in sorted(folder.glob("*.y*ml")):
        mapping = load_source(path)
        if mapping.source in sources:
            raise SourceError(f"{path}: source {mapping.source!r} is defined twice")
        sources[mapping.source] = mapping
    return sources


def load_source(path: Path) -> SourceMapping:
    """One mapping file, checked against its feed's contract."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SourceError(f"{path}: cannot be read as YAML ({error})") from None
    if not isinstance(document, dict):
        raise SourceError(f"{path}: a source mapping is a YAML mapping")
    try:
        mapping = SourceMapping.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'mapping'}: {e['msg']}" for e in error.errors()
        )
        raise SourceError(f"{path}: {problems}") from None
    if path.stem != mapping.source:
        raise SourceError(f"{path}: the file of source {mapping.source!r} is named {mapping.source}.yaml")
    return mapping


def sources_of_feed(sources: dict[str, SourceMapping], feed: str) -> tuple[SourceMapping, ...]:
    return tuple(mapping for _, mapping in sorted(sources.items()) if mapping.feed == feed)


def source_of_file(within_day: Path, sources: tuple[SourceMapping, ...]) -> SourceMapping | None:
    """The mapping a delivered file is read by: the first, by source name, whose pattern it matches."""
    return next((mapping for mapping in sources if mapping.matches(within_day)), None)
