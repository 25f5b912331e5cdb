"""Size an audience and export its consenting part for activation, with a manifest and a log line.

- Size: consumers matched by the definition on the run day, and how many of them consent to the
  purpose of the audience (marketing or ad targeting; the flag per purpose is configuration).
- Export: refused, with nothing written, when fewer than `audiences.min_export_size` consumers
  consent, so that no small group (or one person) can be picked out of an export. Otherwise a file
  of activation keys only (ACTIVATION_KEYS: pseudonymous ids, never contact data), a manifest JSON
  beside it, and one line appended to `<export_dir>/exports.log.jsonl`.

The warehouse is opened read-only on a new connection per command: the nightly publish swaps the
file, and one connection reads one version of it for both the counts and the rows.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from databank.audiences.checks import check_against_warehouse, resolve_run_date
from databank.audiences.compiler import ACTIVATION_KEYS, CompiledAudience, compile_audience
from databank.audiences.definition import Audience, AudienceError, load_audience, saved_audiences
from databank.config import Settings
from databank.warehouse import NoWarehouseError, open_published

ExportFormat = Literal["parquet", "csv"]
EXPORT_LOG = "exports.log.jsonl"


@dataclass(frozen=True)
class AudienceSize:
    """How many consumers an audience matches on a run day, and how many of them may be exported."""

    name: str
    run_date: date
    purpose: str
    consent_flag: str
    matched: int
    consenting: int
    min_export_size: int

    @property
    def excluded_no_consent(self) -> int:
        return self.matched - self.consenting

    @property
    def export_allowed(self) -> bool:
        return self.consenting >= self.min_export_size


@dataclass(frozen=True)
class AudienceExport:
    """What an export wrote."""

    size: AudienceSize
    file: Path
    manifest: Path
    log: Path
    sha256: str


def size_audience(settings: Settings, name: str, run_date: date | None = None) -> AudienceSize:
    """Matched and consenting consumers of the audience `name` on `run_date` (default: the latest day)."""
    audience = load_audience(settings.audiences.folder, name)
    with open_warehouse(settings.warehouse) as con:
        _, size = _measure(con, settings, audience, run_date)
    return size


def export_audience(
    settings: Settings, name: str, file_format: ExportFormat = "parquet", run_date: date | None = None
) -> AudienceExport:
    """Write the activation keys of the consenting consumers of `name`, its manifest and a log line."""
    if file_format not in ("parquet", "csv"):
        raise AudienceError(f"unknown export format {file_format!r}: parquet or csv")
    audience = load_audience(settings.audiences.folder, name)
    with open_warehouse(settings.warehouse) as con:
        compiled, size = _measure(con, settings, audience, run_date)
        if not size.export_allowed:
            raise AudienceError(
                f"audience {name!r} has {size.consenting:,} consenting consumers on {size.run_date}, fewer "
                f"than the minimum of {size.min_export_size:,} for an export: nothing was exported"
            )
        keys = _run(con, compiled.export_sql, compiled.parameters, lambda rows: rows.to_arrow_table())
    if keys.column_names != list(ACTIVATION_KEYS):
        raise AudienceError(
            f"the export of {name!r} holds columns beyond the activation keys; nothing was exported"
        )
    return _write_export(settings, audience, size, keys, file_format)


@contextmanager
def open_warehouse(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A new read-only connection to the warehouse file."""
    try:
        con = open_published(path)
    except NoWarehouseError as error:
        raise AudienceError(f"{error}; or point DATABANK_WAREHOUSE_PATH at one") from error
    except duckdb.Error as error:
        raise AudienceError(f"cannot open the warehouse {path}: {error}") from error
    try:
        yield con
    finally:
        con.close()


def _measure(
    con: duckdb.DuckDBPyConnection, settings: Settings, audience: Audience, requested: date | None
) -> tuple[CompiledAudience, AudienceSize]:
    definition = audience.definition
    consent_flag = getattr(settings.audiences.consent_flags, definition.purpose)
    resolve = saved_audiences(settings.audiences.folder)
    try:
        run_date = resolve_run_date(con, requested)
        check_against_warehouse(con, definition, run_date, resolve)
    except duckdb.Error as error:
        raise AudienceError(
            f"the warehouse {settings.warehouse} lacks what audiences read: {error}"
        ) from error
    compiled = compile_audience(definition, run_date, consent_flag, resolve)
    [(matched, consenting)] = _run(con, compiled.count_sql, compiled.parameters, lambda rows: rows.fetchall())
    size = AudienceSize(
        name=audience.name,
        run_date=run_date,
        purpose=definition.purpose,
        consent_flag=consent_flag,
        matched=matched,
        consenting=consenting,
        min_export_size=settings.audiences.min_export_size,
    )
    return compiled, size


def _run(con: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, object], fetch: Callable) -> Any:
    """`fetch` applied to the rows of `sql` with `parameters` bound."""
    try:
        return fetch(con.sql(sql, params=parameters))
    except duckdb.Error as error:
        raise AudienceError(f"the audience query failed on the warehouse: {error}") from error


def _write_export(
    settings: Settings, audience: Audience, size: AudienceSize, keys: pa.Table, file_format: ExportFormat
) -> AudienceExport:
    created_at = datetime.now(UTC)
    folder = settings.audience_exports / audience.name
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{audience.name}-{size.run_date}-{created_at:%Y%m%dT%H%M%S%fZ}"
    file = folder / f"{stem}.{file_format}"
    _write_atomically(file, lambda partial: _write_keys(keys, partial, file_format))
    digest = _sha256(file)
    record = {
        "name": audience.name,
        "definition_file": str(audience.path.resolve()),
        "definition": audience.definition.model_dump(mode="json", exclude_none=True),
        "run_date": size.run_date.isoformat(),
        "purpose": size.purpose,
        "consent_flag": size.consent_flag,
        "min_export_size": size.min_export_size,
        "counts": {
            "matched": size.matched,
            "excluded_no_consent": size.excluded_no_consent,
            "exported": size.consenting,
        },
        "columns": list(ACTIVATION_KEYS),
        "format": file_format,
        "file": file.name,
        "sha256": digest,
        "warehouse": str(settings.warehouse),
        "created_at": created_at.isoformat(),
        "exported_by": _who(),
    }
    manifest = folder / f"{stem}.manifest.json"
    _write_atomically(
        manifest, lambda partial: partial.write_text(json.dumps(record, indent=2, ensure_ascii=False))
    )
    log = settings.audience_exports / EXPORT_LOG
    logged = {key: record[key] for key in ("created_at", "name", "run_date", "purpose", "counts", "sha256")}
    with log.open("a", encoding="utf-8") as lines:
        lines.write(
            json.dumps({**logged, "file": str(file), "manifest": str(manifest)}, ensure_ascii=False) + "\n"
        )
    return AudienceExport(size, file, manifest, log, digest)


def _write_keys(keys: pa.Table, path: Path, file_format: ExportFormat) -> None:
    if file_format == "parquet":
        pq.write_table(keys, path)
    else:
        pa_csv.write_csv(keys, path)


def _write_atomically(path: Path, write) -> None:
    """Write through a temporary file beside `path`, so a failed write leaves no partial file."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
