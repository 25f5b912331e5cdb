"""The records of a delivered text file, as ingestion counts them and Spark reads them.

Pure Python, no Spark: `databank.landing` counts a file's records with these rules and
`spark_jobs.ingest_feed` reads the same records, so rows delivered and rows stored can be held
against each other.

- Lines break at CRLF, CR or LF (as Hadoop's line reader does); a UTF-8 byte-order mark at the
  start of a line is dropped; blank lines are no records.
- CSV follows RFC 4180 in the file's dialect (a comma and double quotes unless a source mapping says
  otherwise): a quoted field may hold separators, doubled quotes and line breaks, so one record may
  span lines. A quote left open at the end of the file (a transfer cut inside a quoted
  field) does not swallow the lines after it: they stay records of their own.
- Whitespace-separated fields (a mapping's `separator: whitespace`, as old report exports and
  fixed-width dumps spell them) are split at runs of spaces and tabs, blanks at either end ignored;
  nothing is quoted, so every line is one record.
- A `.json` file may hold one JSON document (an array of records, or one record) instead of JSON
  Lines: each element is then a record, written back as one compact line.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

BOM = "\ufeff"
# Line breaks and blank lines as Spark's text reader sees them, so both count the same records.
LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
NOT_BLANK = re.compile(r"[^ \t\n\x0b\f\r]")
# Blanks that separate whitespace-separated fields; Spark splits at the same pattern.
FIELD_BLANKS = "[ \t]+"
WHITESPACE = "whitespace"
# Spark reads one record per line: a line break inside a quoted field travels as a private-use
# character and is put back once the record is parsed.
BREAK_SENTINELS = {"\n": "\ue000", "\r": "\ue001"}
SENTINEL_BREAKS = {sentinel: character for character, sentinel in BREAK_SENTINELS.items()}


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV source spells its records: one separator character and one quote character, or
    `WHITESPACE` as the separator and no quote."""

    separator: str = ","
    quote: str | None = '"'

    @property
    def splits_on_blanks(self) -> bool:
        return self.separator == WHITESPACE


WHITESPACE_SEPARATED = CsvDialect(WHITESPACE, None)


RFC_4180 = CsvDialect()


@dataclass(frozen=True)
class _QuotePatterns:
    closed_field: re.Pattern  # a quoted field that starts a field and is closed, doubled quotes included
    opening: re.Pattern  # a quote that opens a field
    field_end: re.Pattern  # the rest of a quoted field begun on an earlier line, to its closing quote


@cache
def _quote_patterns(dialect: CsvDialect) -> _QuotePatterns:
    sep, q = re.escape(dialect.separator), re.escape(dialect.quote)
    return _QuotePatterns(
        closed_field=re.compile(rf"(?:^|(?<={sep})){q}(?:[^{q}]|{q}{q})*+{q}"),
        opening=re.compile(rf"(?:^|(?<={sep})){q}"),
        field_end=re.compile(rf"^(?:[^{q}]|{q}{q})*+{q}"),
    )


@dataclass(frozen=True)
class TextRecords:
    records: list[str]  # non-blank, each without its line break and any leading byte-order mark
    spans_lines: bool  # some record holds a line break (a quoted CSV field does)
    from_document: bool  # the records are the elements of one JSON document, not lines


def text_records(
    text: str, file_format: str, may_be_document: bool = False, dialect: CsvDialect = RFC_4180
) -> TextRecords:
    """The records of a text file's `text` in `file_format` (`csv` in `dialect`, or `jsonl`).

    `may_be_document` tries the whole text as one JSON document first (a `.json` file).
    """
    if may_be_document:
        elements = _json_document(text)
        if elements is not None:
            return TextRecords(elements, spans_lines=False, from_document=True)
    lines = _physical_lines(text)
    quoted = file_format == "csv" and dialect.quote is not None
    records = _csv_records(lines, dialect) if quoted else [line for line, _ in lines]
    records = [record.removeprefix(BOM) for record in records]
    return TextRecords(
        [r for r in records if NOT_BLANK.search(r)],
        spans_lines=any(_spans_lines(r) for r in records),
        from_document=False,
    )


def header_fields(record: str, dialect: CsvDialect = RFC_4180) -> list[str]:
    """The names of a CSV header record, trimmed."""
    return [name.strip() for name in record_fields(record, dialect)]


def record_fields(record: str, dialect: CsvDialect = RFC_4180) -> list[str]:
    """The fields of a CSV record, as delivered."""
    if dialect.splits_on_blanks:
        return blank_separated_fields(record)
    return next(csv.reader([record], delimiter=dialect.separator, quotechar=dialect.quote), [])


def blank_separated_fields(record: str) -> list[str]:
    """The fields of a whitespace-separated record."""
    return re.split(FIELD_BLANKS, record.strip(" \t")) if record.strip(" \t") else []


def is_header(fields: list[str], known: Iterable[str], required: Iterable[str]) -> bool:
    """A first record is a header when it names distinct columns, every required one among them."""
    names = set(fields)
    return len(names) == len(fields) and all(fields) and set(required) <= names and bool(names & set(known))


def one_line(record: str) -> str:
    """`record` on a single line, its line breaks carried by sentinels."""
    return record.translate(str.maketrans(BREAK_SENTINELS))


def _physical_lines(text: str) -> list[tuple[str, str]]:
    """(line, the break that ends it) pairs; the last line's break may be empty."""
    parts = LINE_BREAK.split(text)
    parts.append("")
    return list(zip(parts[0::2], parts[1::2], strict=True))


def _csv_records(lines: list[tuple[str, str]], dialect: CsvDialect) -> list[str]:
    records: list[str] = []
    open_record: list[tuple[str, str]] = []
    patterns = _quote_patterns(dialect)
    for line, line_break in lines:
        inside = _ends_inside_quotes(line, bool(open_record), dialect.quote, patterns)
        if inside:
            open_record.append((line, line_break))
            continue
        if open_record:
            line = "".join(part + brk for part, brk in open_record) + line
            open_record = []
        records.append(line)
    # A quote still open at the end: its lines were never one record.
    records.extend(part for part, _ in open_record)
    return records


def _ends_inside_quotes(line: str, inside: bool, quote: str, patterns: _QuotePatterns) -> bool:
    """Whether a line that starts inside (or outside) a quoted field ends inside one."""
    if quote not in line:
        return inside
    if inside:
        end = patterns.field_end.match(line)
        if end is None:
            return True
        line = "x" + line[end.end() :]  # what follows the closing quote is no field start
    return patterns.opening.search(patterns.closed_field.sub("q", line)) is not None


def _spans_lines(record: str) -> bool:
    return "\n" in record or "\r" in record


def _json_document(text: str) -> list[str] | None:
    """The records of a whole-text JSON document, or None when the text is no single document."""
    try:
        document = json.loads(text.removeprefix(BOM))
    except ValueError:
        return None
    elements = document if isinstance(document, list) else [document]
    return [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in elements]
