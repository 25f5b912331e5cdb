"""What a source delivered for a feed and day: its files, their checksums and text encodings.

Encoding is decided per file, never guessed per row: a text file that decodes as strict UTF-8 is
UTF-8; otherwise, if the contract allows GBK and the bytes decode as strict GBK, it is GBK;
otherwise the file is undecodable and its lines go to quarantine.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from databank.contracts import Contract

CHUNK = 1 << 20
# Line breaks and blank lines as Spark's text reader sees them, so both count the same records.
LINE_BREAK = re.compile(r"\r\n|\r|\n")
NOT_BLANK = re.compile(r"[^ \t\n\x0b\f\r]")


@dataclass(frozen=True)
class DeliveredFile:
    path: Path
    checksum: str  # sha256 of the bytes as delivered
    size: int
    file_format: str
    encoding: str | None  # text: 'utf-8', 'gbk', or None when neither decodes; None for Parquet
    rows: int | None  # records delivered (text: non-blank lines less the header); None if unreadable
    cut_last_line: str | None = None  # text whose last line has no newline: that line, as decoded
    header: str | None = None  # CSV: the header line as delivered
    problem: str | None = None  # what makes every line of the file unusable, if anything

    @property
    def is_empty(self) -> bool:
        return self.size == 0


def landing_folder(landing: Path, feed: str, day: date) -> Path:
    return landing / feed / f"dt={day.isoformat()}"


def list_delivered(landing: Path, contract: Contract, day: date) -> list[DeliveredFile]:
    """Every file delivered for `contract.feed` on `day`, in name order."""
    folder = landing_folder(landing, contract.feed, day)
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        file_format = path.suffix.lstrip(".").lower()
        if file_format not in contract.formats:
            raise ValueError(
                f"{path}: {contract.feed} is delivered as {contract.formats}, not {file_format!r}"
            )
        checksum, size = _sha256(path)
        if file_format == "parquet":
            files.append(_parquet_file(path, checksum, size))
        else:
            files.append(_text_file(path, checksum, size, file_format, contract))
    return files


def decoded(content: bytes, encoding: str | None) -> str:
    """Text of a delivered file; undecodable bytes become U+FFFD so every line still counts."""
    return content.decode(encoding or "utf-8", errors="replace")


def _text_file(path: Path, checksum: str, size: int, file_format: str, contract: Contract) -> DeliveredFile:
    content = path.read_bytes()
    encoding = _detect_encoding(content, contract)
    lines = [line for line in LINE_BREAK.split(decoded(content, encoding)) if NOT_BLANK.search(line)]
    problem = None if encoding else "undecodable"
    header = None
    if file_format == "csv" and lines:
        if next(csv.reader([lines[0]])) == contract.column_names:
            header, lines = lines[0], lines[1:]
        else:  # every line is then a record that cannot be read by name, the first one included
            problem = problem or "unexpected_header"
    cut = lines[-1] if lines and not content.endswith(b"\n") else None
    return DeliveredFile(path, checksum, size, file_format, encoding, len(lines), cut, header, problem)


def _parquet_file(path: Path, checksum: str, size: int) -> DeliveredFile:
    rows = _parquet_rows(path, size)
    return DeliveredFile(
        path, checksum, size, "parquet", None, rows, problem=None if rows is not None else "unreadable"
    )


def _parquet_rows(path: Path, size: int) -> int | None:
    if size == 0:
        return 0
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowInvalid, OSError):
        return None


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _detect_encoding(content: bytes, contract: Contract) -> str | None:
    for encoding in ("utf-8", *(e for e in contract.encodings if e != "utf-8")):
        try:
            content.decode(encoding, errors="strict")
        except UnicodeDecodeError:
            continue
        return encoding
    return None
