"""What a source delivered for a feed and day: its files, their checksums, formats and encodings.

Every file under the day's folder is listed, in sub-folders too, and each is classified by rule:

- A name starting with `_` or `.`, or inside a folder so named (`_SUCCESS`, `_temporary/`,
  `.crc`), is a marker or a file still being written, by the convention Spark and Hadoop follow:
  it is registered as ignored and never read.
- A file whose name matches a source mapping's pattern (`databank.sources`) is read as that mapping
  says: its format, compression, encoding, CSV dialect and column names; the others as follows.
- The name's last suffix is the format: `.csv`, `.parquet`, `.jsonl`/`.ndjson` (JSON Lines) or
  `.json` (a JSON document or JSON Lines), each behind an optional `.gz` (gzip). A format the
  feed's contract does not list is refused, with a reason (a mapped source may use any of them).
- Encoding is decided per file, never guessed per row: a text file that decodes as strict UTF-8 is
  UTF-8; otherwise, if the contract allows GBK and the bytes decode as strict GBK, it is GBK;
  otherwise the file is undecodable and its lines go to quarantine.
- A CSV file's first record is its header when it names distinct columns, every required one of
  the contract among them (by the names its mapping gives them), in any order; columns the contract
  does not know are recorded and not read, and the header repeated further down is no record. A
  mapped source without a header names its fields in its mapping. Records are counted as
  `databank.delivered_text` splits them.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from databank.contracts import Contract
from databank.delivered_text import (
    LINE_BREAK,
    RFC_4180,
    CsvDialect,
    header_fields,
    is_header,
    one_line,
    text_records,
)
from databank.sources import SourceMapping, source_of_file

CHUNK = 1 << 20
FORMAT_OF_SUFFIX = {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl", "parquet": "parquet"}
GZIP = "gzip"
# Problems of a whole file: the first three keep it from being read at all.
MARKER = "marker"
UNSUPPORTED_FORMAT = "unsupported_format"
UNREADABLE = "unreadable"
UNDECODABLE = "undecodable"
UNEXPECTED_HEADER = "unexpected_header"


@dataclass(frozen=True)
class DeliveredFile:
    path: Path
    checksum: str | None  # sha256 of the bytes as delivered; None for a marker, which is not read
    size: int
    file_format: str | None  # the contract format it is read as; None when it is no format of the feed
    encoding: str | None  # text: 'utf-8', 'gbk', or None when neither decodes; None for Parquet
    rows: int | None  # records delivered (text: non-blank records less headers); None if unreadable
    cut_last_line: str | None = None  # text whose last line has no line break: that record
    header: str | None = None  # CSV: the header record as delivered
    columns: tuple[str, ...] = ()  # CSV header or Parquet schema: the names the file gives its fields
    extra_columns: tuple[str, ...] = ()  # of `columns`, those the contract does not know
    problem: str | None = None  # what makes the whole file unusable, or unread, if anything
    compression: str | None = None  # 'gzip' or None
    restaged: bool = False  # Spark cannot read the file as it is: it reads `text_for_spark` instead
    mapping: SourceMapping | None = None  # the source mapping it is read by, if any

    @property
    def is_empty(self) -> bool:
        return self.size == 0

    @property
    def dialect(self) -> CsvDialect:
        return self.mapping.csv.dialect if self.mapping else RFC_4180


def landing_folder(landing: Path, feed: str, day: date) -> Path:
    return landing / feed / f"dt={day.isoformat()}"


def list_delivered(
    landing: Path, contract: Contract, day: date, sources: tuple[SourceMapping, ...] = ()
) -> list[DeliveredFile]:
    """Every file delivered for `contract.feed` on `day`, sub-folders included, in path order;
    `sources` are the feed's source mappings."""
    folder = landing_folder(landing, contract.feed, day)
    if not folder.is_dir():
        return []
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    return [delivered_file(path, path.relative_to(folder), contract, sources) for path in paths]


def decoded(content: bytes, encoding: str | None) -> str:
    """Text of a delivered file; undecodable bytes become U+FFFD so every line still counts."""
    return content.decode(encoding or "utf-8", errors="replace")


def delivered_records(file: DeliveredFile) -> tuple[list[str], str]:
    """A text file's records as delivered and counted, its header aside, and the line break it ends
    its lines with (its first one; LF when it holds none)."""
    text = decoded(_content(file.path, file.compression) or b"", file.encoding)
    found = text_records(text, file.file_format, _may_be_document(file.path), file.dialect)
    line_break = LINE_BREAK.search(text)
    return [r for r in found.records if r != file.header], line_break.group(0) if line_break else "\n"


def text_for_spark(file: DeliveredFile) -> str:
    """A restaged text file as Spark is to read it: UTF-8, one record a line."""
    content = _content(file.path, file.compression) or b""
    text = decoded(content, file.encoding)
    found = text_records(text, file.file_format, _may_be_document(file.path), file.dialect)
    return "".join(one_line(record) + "\n" for record in found.records)


def delivered_file(
    path: Path, within_day: Path, contract: Contract, sources: tuple[SourceMapping, ...] = ()
) -> DeliveredFile:
    """What `path` (at `within_day` inside its day folder) delivers, read by the first of `sources`
    its name matches, or as the contract spells it."""
    if any(part.startswith(("_", ".")) for part in within_day.parts):
        return DeliveredFile(path, None, path.stat().st_size, None, None, None, problem=MARKER)
    mapping = source_of_file(within_day, sources)
    checksum, size = _sha256(path)
    file_format, compression = _format_of(path.name)
    if mapping:
        file_format = mapping.format or file_format
        compression = {"gzip": GZIP, "none": None}.get(mapping.compression or "", compression)
    readable = ("csv", "jsonl", "parquet") if mapping else contract.formats
    if file_format not in readable or (file_format == "parquet" and compression):
        return DeliveredFile(
            path, checksum, size, None, None, None, problem=UNSUPPORTED_FORMAT, mapping=mapping
        )
    if file_format == "parquet":
        return _parquet_file(path, checksum, size, contract, mapping)
    return _text_file(path, checksum, size, file_format, compression, contract, mapping)


def _format_of(name: str) -> tuple[str | None, str | None]:
    """(format, compression) a file name says."""
    lowered = name.lower()
    compression = GZIP if lowered.endswith(".gz") else None
    stem = lowered.removesuffix(".gz")
    suffix = stem.rsplit(".", 1)[1] if "." in stem else ""
    return FORMAT_OF_SUFFIX.get(suffix), compression


def _text_file(
    path: Path,
    checksum: str,
    size: int,
    file_format: str,
    compression: str | None,
    contract: Contract,
    mapping: SourceMapping | None,
) -> DeliveredFile:
    content = _content(path, compression)
    if content is None:
        return DeliveredFile(
            path, checksum, size, file_format, None, None, problem=UNREADABLE, mapping=mapping
        )
    if mapping and mapping.encoding:
        encoding = _detect_encoding(content, (mapping.encoding,))
    else:
        encoding = _detect_encoding(content, ("utf-8", *(e for e in contract.encodings if e != "utf-8")))
    text = decoded(content, encoding)
    dialect = mapping.csv.dialect if mapping else RFC_4180
    found = text_records(text, file_format, _may_be_document(path), dialect)
    records = found.records
    problem = None if encoding else UNDECODABLE
    header, columns, extra = None, (), ()
    if file_format == "csv" and mapping and not mapping.csv.header:
        columns, extra = _named(mapping.csv.columns, contract, mapping)
    elif file_format == "csv" and records:
        fields = header_fields(records[0], dialect)
        names = [mapping.contract_name(f) for f in fields] if mapping else fields
        if is_header(names, contract.column_names, _required_delivered(contract, mapping)):
            header = records[0]
            columns, extra = _named(fields, contract, mapping)
            records = [r for r in records if r != header]
        else:  # every record is then one that cannot be read by name, the first one included
            problem = problem or UNEXPECTED_HEADER
    cut_short = not (found.from_document or text.endswith(("\n", "\r")))
    last = found.records[-1] if found.records else None
    cut = last if cut_short and last != header else None
    restaged = (
        encoding != "utf-8"
        or found.spans_lines
        or found.from_document
        or ":" in path.name  # Hadoop takes the part before a colon for a URI scheme
        or (compression == GZIP and not path.name.endswith(".gz"))  # Spark knows gzip by `.gz` only
    )
    return DeliveredFile(
        path,
        checksum,
        size,
        file_format,
        encoding,
        len(records),
        cut_last_line=cut,
        header=header,
        columns=columns,
        extra_columns=extra,
        problem=problem,
        compression=compression,
        restaged=restaged,
        mapping=mapping,
    )


def _named(
    fields, contract: Contract, mapping: SourceMapping | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the contract's names of a source's fields, the source names of those the contract does not know)."""
    names = tuple(mapping.contract_name(f) for f in fields) if mapping else tuple(fields)
    extra = tuple(f for f, name in zip(fields, names, strict=True) if name not in contract.column_names)
    return names, extra


def _required_delivered(contract: Contract, mapping: SourceMapping | None) -> list[str]:
    """The required columns a file must carry itself: a mapping's constants and derived columns fill
    the others."""
    filled = {*mapping.constants, *mapping.derived} if mapping else set()
    return [name for name in contract.required_columns if name not in filled]


def _content(path: Path, compression: str | None) -> bytes | None:
    """The bytes a file holds, gzip undone; None when they cannot be decompressed."""
    raw = path.read_bytes()
    if compression != GZIP:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error):
        return None


def _may_be_document(path: Path) -> bool:
    return path.name.lower().removesuffix(".gz").endswith(".json")


def _parquet_file(
    path: Path, checksum: str, size: int, contract: Contract, mapping: SourceMapping | None
) -> DeliveredFile:
    if size == 0:
        return DeliveredFile(path, checksum, size, "parquet", None, 0, mapping=mapping)
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError):
        return DeliveredFile(path, checksum, size, "parquet", None, None, problem=UNREADABLE, mapping=mapping)
    columns, extra = _named(parquet.schema_arrow.names, contract, mapping)
    return DeliveredFile(
        path,
        checksum,
        size,
        "parquet",
        None,
        parquet.metadata.num_rows,
        columns=columns,
        extra_columns=extra,
        restaged=":" in path.name,
        mapping=mapping,
    )


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _detect_encoding(content: bytes, candidates: tuple[str, ...]) -> str | None:
    """The first of `candidates` that decodes the bytes strictly."""
    for encoding in candidates:
        try:
            content.decode(encoding, errors="strict")
        except UnicodeDecodeError:
            continue
        return encoding
    return None
