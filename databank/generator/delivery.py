"""Delivery of simulated records as source systems deliver them, defects included.

Each table is written in its contract's format (JSON Lines, CSV in UTF-8 or GBK, Parquet), with
event times spelled the way the contract's zone rule says. At `bad_rate`, records are damaged in
the ways real feeds are (which ways follow from the contract: a required field gone, a timestamp
that cannot be parsed or lies in the future, a value outside its enum or range, a negative
quantity, text in a number, a line that is not JSON or has too few fields), and files arrive
truncated, empty or twice. Every damage is logged for the ground truth.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from databank.contracts import Column, Contract

FUTURE_SHIFT = timedelta(days=400)
UNPARSEABLE_TIMES = ("2026-02-30 25:61:00", "not a timestamp", "31/12/2026 12:00")
OUT_OF_RANGE = {"lat": (95.5, -123.0, 181.0), "lon": (250.0, -190.0, 360.0)}
NOT_A_NUMBER = ("两件", "N/A", "1,5")
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"
FILE_DEFECTS = ("truncated_file", "empty_file", "duplicate_file")


@dataclass(frozen=True)
class Defect:
    """One planned damage: which kind, to which column (None for whole-record kinds)."""

    kind: str
    column: str | None


def record_defects(contract: Contract, file_format: str) -> list[Defect]:
    """The ways a record of this feed can arrive damaged in this file format."""
    defects: list[Defect] = []
    text = file_format in ("jsonl", "csv")
    if file_format == "jsonl":
        defects.append(Defect("malformed_json", None))
    if file_format == "csv":
        defects.append(Defect("malformed_row", None))
    for column in contract.columns:
        if column.required and column.name != contract.record_id:
            defects.append(Defect("missing_required", column.name))
        if column.enum:
            defects.append(Defect("unknown_enum", column.name))
        if column.name == "quantity":
            defects.append(Defect("negative_quantity", column.name))
        if column.name in OUT_OF_RANGE:
            defects.append(Defect("coordinates_out_of_range", column.name))
        if text and column.type in ("int", "float") and column.name not in OUT_OF_RANGE:
            defects.append(Defect("wrong_type", column.name))
    if contract.require_any:
        defects.append(Defect("missing_identifier", None))
    if contract.event_time:
        defects.append(Defect("bad_timestamp", contract.event_time.column))
        defects.append(Defect("future_timestamp", contract.event_time.column))
    return defects


class Delivery:
    """Writes one day's tables into `out/<feed>/dt=<day>/` and logs what it damaged."""

    def __init__(self, out: Path, utc_offset_ms: int, bad_rate: float) -> None:
        self.out = out
        self.offset_ms = utc_offset_ms
        self.offset_text = _offset_text(utc_offset_ms)
        self.bad_rate = bad_rate
        self.duckdb = duckdb.connect()
        self.defect_log: list[dict] = []

    def deliver(
        self,
        contract: Contract,
        table: pa.Table,
        day_stamp: str,
        rng: np.random.Generator,
        damage: bool = True,
    ) -> list[Path]:
        """Write every file of `table` (grouped by its `_file` column); return the paths written."""
        folder = self._folder(contract, day_stamp)
        written = []
        files = table.column("_file")
        for name in sorted(pc.unique(files).to_pylist()):
            rows = table.filter(pc.equal(files, name)).select(contract.column_names)
            if contract.event_time:  # systems export in time order, so a cut file loses the latest rows
                rows = rows.sort_by(contract.event_time.column)
            path = folder / name
            written += self._write_file(contract, rows, path, rng, damage)
        return written

    def deliver_nothing(self, contract: Contract, day_stamp: str) -> Path:
        """A source with no records for the day still delivers: an empty file says so."""
        path = self._folder(contract, day_stamp) / f"{contract.feed}_{day_stamp}.{contract.formats[0]}"
        path.write_bytes(b"")
        return path

    def _folder(self, contract: Contract, day_stamp: str) -> Path:
        folder = self.out / contract.feed / f"dt={day_stamp[:4]}-{day_stamp[4:6]}-{day_stamp[6:]}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _write_file(self, contract, rows: pa.Table, path: Path, rng, damage: bool) -> list[Path]:
        file_format = path.suffix.lstrip(".")
        if file_format == "parquet":
            content = self._parquet(contract, rows, path, rng, damage)
        else:
            encoding = "gbk" if "_legacy_" in path.name else "utf-8"
            lines = (
                self._json_lines(contract, rows)
                if file_format == "jsonl"
                else self._csv_lines(contract, rows)
            )
            if damage:
                self._damage_lines(contract, file_format, lines, rows, path, rng)
            content = "".join(line + "\n" for line in lines)
            if damage and lines and rng.random() < self._file_defect_rate():
                content = self._truncate(content, rows.column(contract.record_id)[-1].as_py(), path, rng)
            content = content.encode(encoding)
        path.write_bytes(content)
        written = [path]
        if damage:
            written += self._file_defects(contract, path, content, rng)
        return written

    # ------------------------------------------------------------------ formats

    def _json_lines(self, contract: Contract, rows: pa.Table) -> list[str]:
        rows = self._spell_times(
            contract, rows, lambda ms: _strftime(ms, "%Y-%m-%dT%H:%M:%S", self.offset_text)
        )
        self.duckdb.register("_rows", rows)
        try:
            result = self.duckdb.sql("SELECT to_json(_rows)::VARCHAR FROM _rows").to_arrow_table()
        finally:
            self.duckdb.unregister("_rows")
        return result.column(0).to_pylist()

    def _csv_lines(self, contract: Contract, rows: pa.Table) -> list[str]:
        zone = contract.event_time.zone if contract.event_time else "local"
        if zone == "utc":
            rows = self._spell_times(
                contract,
                rows,
                lambda ms: _strftime(pc.subtract(ms, self.offset_ms), "%Y-%m-%dT%H:%M:%S", "Z"),
            )
        else:
            rows = self._spell_times(contract, rows, lambda ms: _strftime(ms, LOCAL_FORMAT))
        buffer = io.BytesIO()
        pa_csv.write_csv(rows, buffer, pa_csv.WriteOptions(quoting_style="needed"))
        return buffer.getvalue().decode("utf-8").splitlines()

    def _parquet(self, contract: Contract, rows: pa.Table, path: Path, rng, damage: bool) -> bytes:
        column = contract.event_time.column
        utc = pa.array(rows.column(column).to_numpy() - self.offset_ms).cast(pa.timestamp("ms", tz="UTC"))
        rows = rows.set_column(rows.schema.get_field_index(column), column, utc)
        if damage:
            rows = self._damage_table(contract, rows, path, rng)
        buffer = io.BytesIO()
        pq.write_table(rows, buffer)
        return buffer.getvalue()

    def _spell_times(self, contract: Contract, rows: pa.Table, spell) -> pa.Table:
        if not contract.event_time:
            return rows
        column = contract.event_time.column
        return rows.set_column(rows.schema.get_field_index(column), column, spell(rows.column(column)))

    # ------------------------------------------------------------------ record defects

    def _plan(self, contract, file_format, n: int, rng) -> list[tuple[int, Defect]]:
        """Which records to damage, and how: each kind equally likely, then any of its columns."""
        hit = np.flatnonzero(rng.random(n) < self.bad_rate)
        by_kind: dict[str, list[Defect]] = {}
        for defect in record_defects(contract, file_format):
            by_kind.setdefault(defect.kind, []).append(defect)
        kinds = list(by_kind.values())
        plan = []
        for i in hit:
            options = kinds[int(rng.integers(len(kinds)))]
            plan.append((int(i), options[int(rng.integers(len(options)))]))
        return plan

    def _damage_lines(self, contract, file_format, lines: list[str], rows: pa.Table, path: Path, rng) -> None:
        ids = rows.column(contract.record_id)
        header = next(csv.reader([lines[0]])) if file_format == "csv" else None
        offset = 1 if file_format == "csv" else 0
        for i, defect in self._plan(contract, file_format, rows.num_rows, rng):
            line = lines[i + offset]
            if defect.kind == "malformed_json":
                line = line[: int(len(line) * rng.uniform(0.3, 0.8))]
            elif defect.kind == "malformed_row":
                cut = line.rfind(",")
                line = line[:cut] + line[cut + 1 :]
            elif file_format == "jsonl":
                record = json.loads(line)
                self._damage_record(contract, record, defect, rng)
                line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            else:
                values = next(csv.reader([line]))
                record = dict(zip(header, values, strict=True))
                self._damage_record(contract, record, defect, rng)
                out = io.StringIO()
                csv.writer(out, lineterminator="").writerow([record.get(h, "") for h in header])
                line = out.getvalue()
            lines[i + offset] = line
            self._log(contract, path, ids[i].as_py(), defect)

    def _damage_record(self, contract: Contract, record: dict, defect: Defect, rng) -> None:
        name = defect.column
        if defect.kind == "missing_required":
            record[name] = None if rng.random() < 0.5 else ""
        elif defect.kind == "missing_identifier":
            for column in contract.require_any[0]:
                record[column] = None
        elif defect.kind == "unknown_enum":
            record[name] = _unknown_enum(contract.column(name))
        elif defect.kind == "negative_quantity":
            record[name] = -abs(int(record[name]))
        elif defect.kind == "coordinates_out_of_range":
            record[name] = float(rng.choice(OUT_OF_RANGE[name]))
        elif defect.kind == "wrong_type":
            record[name] = str(rng.choice(NOT_A_NUMBER))
        elif defect.kind == "bad_timestamp":
            record[name] = str(rng.choice(UNPARSEABLE_TIMES))
        elif defect.kind == "future_timestamp":
            record[name] = _shift_text_time(str(record[name]), FUTURE_SHIFT)

    def _damage_table(self, contract: Contract, rows: pa.Table, path: Path, rng) -> pa.Table:
        """Damage typed columns with one vectorised pass per (kind, column)."""
        ids = rows.column(contract.record_id)
        targets: dict[Defect, list[int]] = {}
        for i, defect in self._plan(contract, "parquet", rows.num_rows, rng):
            targets.setdefault(defect, []).append(i)
            self._log(contract, path, ids[i].as_py(), defect)
        for defect, hit in targets.items():
            mask = np.zeros(rows.num_rows, dtype=bool)
            mask[hit] = True
            names = contract.require_any[0] if defect.kind == "missing_identifier" else (defect.column,)
            for name in names:
                column = rows.column(name)
                bad = self._bad_values(contract, defect, column, rng)
                rows = rows.set_column(
                    rows.schema.get_field_index(name), name, pc.if_else(pa.array(mask), bad, column)
                )
        return rows

    def _bad_values(self, contract: Contract, defect: Defect, column: pa.ChunkedArray, rng):
        """A damaged value (or, for future times, a damaged column) of the column's own type."""
        kind, type_ = defect.kind, column.type
        if kind in ("missing_required", "missing_identifier"):
            return pa.scalar(None, type_)
        if kind == "unknown_enum":
            return pa.scalar(_unknown_enum(contract.column(defect.column)), type_)
        if kind == "coordinates_out_of_range":
            return pa.scalar(float(rng.choice(OUT_OF_RANGE[defect.column])), type_)
        if kind == "bad_timestamp":  # an SDK whose clock was never set
            return pa.scalar(0, pa.int64()).cast(type_)
        if kind == "future_timestamp":
            shift = int(FUTURE_SHIFT.total_seconds() * 1000)
            return pc.add(column.cast(pa.int64()), shift).cast(type_)
        raise ValueError(f"{kind} cannot be written into a typed Parquet column")

    # ------------------------------------------------------------------ file defects

    def _file_defect_rate(self) -> float:
        return min(0.2, self.bad_rate * 5)

    def _truncate(self, content: str, last_record: str, path: Path, rng) -> str:
        """A transfer cut short inside the last line."""
        body, last = content[:-1].rsplit("\n", 1) if "\n" in content[:-1] else ("", content[:-1])
        if not body:
            return content
        self._log_kind(path, last_record, "truncated_file", None)
        return body + "\n" + last[: max(1, int(len(last) * rng.uniform(0.2, 0.7)))]

    def _file_defects(self, contract: Contract, path: Path, content: bytes, rng) -> list[Path]:
        extra = []
        if rng.random() < self._file_defect_rate():
            empty = path.with_name(f"{path.stem}_part2{path.suffix}")
            empty.write_bytes(b"")
            self._log_kind(empty, None, "empty_file", None)
            extra.append(empty)
        if rng.random() < self._file_defect_rate():
            again = path.with_name(f"{path.stem}_resend{path.suffix}")
            again.write_bytes(content)
            self._log_kind(again, None, "duplicate_file", None)
            extra.append(again)
        return extra

    def _log(self, contract: Contract, path: Path, record: str, defect: Defect) -> None:
        self._log_kind(path, record, defect.kind, defect.column)

    def _log_kind(self, path: Path, record: str | None, kind: str, column: str | None) -> None:
        relative = path.relative_to(self.out).as_posix()
        self.defect_log.append(
            {
                "feed": relative.split("/", 1)[0],
                "file": relative,
                "record": record,
                "kind": kind,
                "column": column,
            }
        )

    def take_defects(self) -> list[dict]:
        log, self.defect_log = self.defect_log, []
        return log


def _strftime(local_ms: pa.ChunkedArray | pa.Array, fmt: str, suffix: str = "") -> pa.Array:
    seconds = pc.divide(pc.cast(local_ms, pa.int64()), 1000)
    return pc.binary_join_element_wise(
        pc.strftime(pc.cast(seconds, pa.timestamp("s")), format=fmt), suffix, ""
    )


def _offset_text(offset_ms: int) -> str:
    minutes = offset_ms // 60000
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _shift_text_time(text: str, shift: timedelta) -> str:
    """The same time spelled the same way, moved by `shift`."""
    zulu = text.endswith("Z")
    parsed = datetime.fromisoformat(text)
    moved = (parsed + shift).isoformat(sep="T" if "T" in text else " ")
    return moved.replace("+00:00", "Z") if zulu else moved


def _unknown_enum(column: Column) -> str:
    return f"{column.enum[0]}_v2"
