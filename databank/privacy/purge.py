"""Remove a set of people from stored tables: Delta tables, the DuckDB warehouse, audience exports.

A person is named by `Erased`: their identifiers (as OneID nodes and as HMACs), their one_ids and
the records that carried them. Rows are found through `personal_columns` and removed:

- Delta: each file is scanned once; each partition holding one of them is rewritten once without
  their rows, by an overwrite whose predicate names only the partition (a DELETE's predicate would
  write the erased values into the transaction log, which outlives the files). Text that quotes
  them (a quarantined record) goes with its row; a quality check's sample of values is redacted
  instead, so the check's result stays. Every table that can name a person is then vacuumed with
  zero retention, so the files replaced, tonight or by an earlier version, are physically gone, not
  only unlisted.
- The warehouse: deleted in a copy, which is then copied table by table into a new file (DuckDB
  keeps deleted rows' bytes in free blocks of a file) and swapped in.
- Exports: each export file without their rows, its manifest updated (counts, checksum).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

from databank.privacy.personal_columns import PersonalColumns, personal_columns
from databank.warehouse import refresh_delta_views

REDACTED = "<erased>"
DELETED_WITH_ROW = "raw_text"  # a quoting column whose row goes; others are redacted
UNIT = "\x1f"  # joins a record's feed and id into one key
PRIVATE_FOLDERS = ("privacy",)  # the suppression list and audit: tokens and counts, never identifiers
VALUES_PER_PATTERN = 64  # erased values matched in text by one regular expression (quoting_patterns)


@dataclass(frozen=True)
class Erased:
    """What names the people being erased."""

    nodes: frozenset[str]
    one_ids: frozenset[str]
    records: frozenset[tuple[str, str]]  # (feed, record_id) that carried one of their identifiers

    @property
    def hmacs(self) -> frozenset[str]:
        return frozenset(node.split(":", 1)[1] for node in self.nodes)

    @property
    def values(self) -> frozenset[str]:
        return self.hmacs | self.nodes | self.one_ids

    def __bool__(self) -> bool:
        return bool(self.nodes or self.one_ids)


def delta_tables(lakehouse: Path) -> list[Path]:
    """Every Delta table of the lakehouse but the privacy folder's own."""
    tables = [log.parent for log in lakehouse.rglob("_delta_log")]
    return sorted(t for t in tables if t.relative_to(lakehouse).parts[0] not in PRIVATE_FOLDERS)


def purge_delta_table(path: Path, erased: Erased, vacuum: bool) -> int:
    """Remove (or redact) the erased people's rows in one Delta table; return the rows it touched.

    Each file is scanned once for them; the partitions holding one are rewritten in one commit by an
    overwrite whose predicate names only the partitions. Both stream in batches: a day of a large
    feed does not fit in memory at once, let alone one per thread. With `vacuum`, every table that can
    hold a person is vacuumed, touched or not: files an earlier version replaced may name them although
    the current version does not (a table rebuilt each night, a row re-resolved to another id).
    """
    table = DeltaTable(str(path))
    names = [f.name for f in table.schema().fields]
    rules = _Rules.of(personal_columns(names), erased, with_records={"feed", "record_id"} <= set(names))
    if not rules.columns:
        return 0
    touched = _rewrite_without(table, rules)
    if vacuum:
        table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    return touched


def _rewrite_without(table: DeltaTable, rules: _Rules) -> int:
    """Rewrite the partitions of `table` that hold a row `rules` touch, without it or redacted; return
    the rows touched."""
    dataset = active_dataset(table)
    affected: dict[tuple, int] = {}
    for fragment in dataset.get_fragments():
        batches = fragment.to_batches(columns=rules.columns, schema=dataset.schema)
        hits = sum(pc.sum(rules.touched(pa.Table.from_batches([batch]))).as_py() or 0 for batch in batches)
        if hits:
            partition = tuple(sorted(ds.get_partition_keys(fragment.partition_expression).items()))
            affected[partition] = affected.get(partition, 0) + hits
    if not affected:
        return 0

    def kept_rows():
        for partition in affected:
            for batch in dataset.to_batches(filter=_partition_filter(partition)):
                yield from rules.applied(pa.Table.from_batches([batch])).to_batches()

    predicates = [_partition_predicate(partition) for partition in affected]
    write_deltalake(
        table,
        pa.RecordBatchReader.from_batches(dataset.schema, kept_rows()),
        mode="overwrite",
        predicate=" OR ".join(f"({p})" for p in predicates) if all(predicates) else None,
        partition_by=table.metadata().partition_columns or None,
    )
    return sum(affected.values())


@dataclass(frozen=True)
class _Rules:
    """Which rows of a table name the erased people, and what becomes of them."""

    value_sets: dict[str, pa.Array]  # column -> the erased values it may hold
    records: pa.Array | None  # "<feed>\x1f<record_id>" of their records
    dropped_quoting: tuple[str, ...]
    redacted_quoting: tuple[str, ...]
    patterns: tuple[str, ...]

    @classmethod
    def of(cls, columns: PersonalColumns, erased: Erased, with_records: bool) -> _Rules:
        def values(of: frozenset[str]) -> pa.Array:
            return pa.array(sorted(of), pa.string())

        sets = {c: values(erased.hmacs) for c in columns.hmacs}
        sets |= {c: values(erased.nodes) for c in columns.nodes}
        sets |= {c: values(erased.one_ids) for c in columns.one_ids}
        records = None
        if with_records and erased.records:
            records = pa.array(sorted(f"{feed}{UNIT}{record_id}" for feed, record_id in erased.records))
        patterns = quoting_patterns(erased.values)
        quoting = columns.quoting if patterns else ()
        return cls(
            value_sets={c: v for c, v in sets.items() if len(v)},
            records=records,
            dropped_quoting=tuple(c for c in quoting if c == DELETED_WITH_ROW),
            redacted_quoting=tuple(c for c in quoting if c != DELETED_WITH_ROW),
            patterns=patterns,
        )

    @property
    def columns(self) -> list[str]:
        record_columns = ["feed", "record_id"] if self.records is not None else []
        return sorted({*self.value_sets, *record_columns, *self.dropped_quoting, *self.redacted_quoting})

    def _quotes(self, text: pa.ChunkedArray) -> pa.ChunkedArray:
        """Which of `text` quote an erased value."""
        text = text.cast(pa.string())
        found = pc.match_substring_regex(text, self.patterns[0])
        for pattern in self.patterns[1:]:
            found = pc.or_(found, pc.match_substring_regex(text, pattern))
        return found

    def dropped(self, rows: pa.Table) -> pa.ChunkedArray | pa.Array:
        """Rows that go: they hold an erased value, belong to an erased record, or quote one."""
        found = pa.repeat(False, rows.num_rows)
        for column, values in self.value_sets.items():
            found = pc.or_(found, pc.is_in(rows[column].cast(pa.string()), value_set=values))
        if self.records is not None:
            keys = pc.binary_join_element_wise(
                rows["feed"].cast(pa.string()), rows["record_id"].cast(pa.string()), UNIT
            )
            found = pc.or_(found, pc.is_in(keys, value_set=self.records))
        for column in self.dropped_quoting:
            found = pc.or_(found, self._quotes(rows[column]))
        return pc.fill_null(found, False)

    def touched(self, rows: pa.Table) -> pa.ChunkedArray | pa.Array:
        found = self.dropped(rows)
        for column in self.redacted_quoting:
            found = pc.or_(found, pc.fill_null(self._quotes(rows[column]), False))
        return found

    def applied(self, rows: pa.Table) -> pa.Table:
        """`rows` without the dropped ones, and the erased values redacted from the quoting text."""
        kept = rows.filter(pc.invert(self.dropped(rows)))
        for column in self.redacted_quoting:
            index = kept.schema.get_field_index(column)
            redacted = kept[column].cast(pa.string())
            for pattern in self.patterns:
                redacted = pc.replace_substring_regex(redacted, pattern, REDACTED)
            kept = kept.set_column(
                index, kept.schema.field(index), redacted.cast(kept.schema.field(index).type)
            )
        return kept


def _partition_filter(partition: tuple) -> pc.Expression | None:
    where = None
    for column, value in partition:
        test = pc.field(column).is_null() if value is None else pc.field(column) == pc.scalar(value)
        where = test if where is None else where & test
    return where


def _partition_predicate(partition: tuple) -> str | None:
    tests = [
        f'"{column}" IS NULL' if value is None else f"\"{column}\" = '{value}'" for column, value in partition
    ]
    return " AND ".join(tests) or None


def active_dataset(table: DeltaTable | Path) -> ds.Dataset:
    """A Delta table's active files as one dataset, scanned in batches (bounded memory)."""
    table = table if isinstance(table, DeltaTable) else DeltaTable(str(table))
    schema = pa.schema(table.schema().to_arrow())
    base = table.table_uri.removeprefix("file://")
    return ds.dataset(table.file_uris(), schema=schema, partitioning="hive", partition_base_dir=base)


def rows_where_in(
    dataset: ds.Dataset,
    columns: list[str],
    column: str,
    values: Iterable[str],
    where: pc.Expression | None = None,
) -> pa.Table:
    """`columns` of the rows whose `column` is in `values` (of the partitions `where` selects).

    Matched batch by batch, not pushed down: pyarrow's statistics pruning fails on the string views
    delta-rs writes.
    """
    wanted = pa.array(sorted(set(values)), pa.string())
    scanned = sorted({*columns, column})
    found = [
        batch.filter(pc.is_in(batch[column].cast(pa.string()), value_set=wanted)).select(columns)
        for batch in dataset.to_batches(columns=scanned, filter=where)
    ]
    schema = pa.schema([dataset.schema.field(c) for c in columns])
    return pa.Table.from_batches(found, schema) if found else schema.empty_table()


def quoting_patterns(values: Iterable[str]) -> tuple[str, ...]:
    """Regular expressions that together match any of `values` inside text, longest values first (a
    node is redacted before the HMAC it contains).

    A few dozen values each: one alternation of a hundred people's values outgrows the memory Arrow
    gives RE2 for its automaton, which then matches 15x slower (14 s against 0.8 s over a month of
    a medium brand's quarantined pings).
    """
    ordered = sorted(set(values), key=len, reverse=True)
    return tuple(
        "|".join(re.escape(v) for v in ordered[start : start + VALUES_PER_PATTERN])
        for start in range(0, len(ordered), VALUES_PER_PATTERN)
    )


def purge_warehouse(
    path: Path, lakehouse: Path, erased: Erased, duckdb_config: Mapping[str, str] | None = None
) -> dict[str, int]:
    """The warehouse file at `path` without the erased people; rows removed per table.

    Written anew, table by table, and swapped in: deleting in place would leave the rows' bytes in
    the file's free blocks. `duckdb_config`: the marts build's memory limit and spill folder.
    """
    if not path.is_file():
        return {}
    fresh = path.with_name(f"{path.stem}.erased{path.suffix}")
    fresh.unlink(missing_ok=True)
    removed: dict[str, int] = {}
    with duckdb.connect(str(fresh), config=dict(duckdb_config or {})) as con:
        this = _this_database(con)
        con.execute(f"ATTACH '{path}' AS published (READ_ONLY)")
        con.execute(f"COPY FROM DATABASE published TO {this} (SCHEMA)").fetchall()
        con.register("erased_values", pa.table({"v": pa.array(sorted(erased.values), pa.string())}))
        for schema, name, columns in _base_tables(con, "published"):
            keyed = personal_columns(columns).keyed
            held = [f'coalesce("{c}" IN (SELECT v FROM erased_values), false)' for c in keyed]
            kept = f"NOT ({' OR '.join(held)})" if held else "true"
            source, target = f'published."{schema}"."{name}"', f'{this}."{schema}"."{name}"'
            # fetchall: DuckDB holds a connection until a result is read to its end
            copied = con.execute(f"INSERT INTO {target} SELECT * FROM {source} WHERE {kept}").fetchall()
            count = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0] - copied[0][0]
            if count:
                removed[f"{schema}.{name}"] = count
        con.unregister("erased_values")
        con.execute("DETACH published")
        refresh_delta_views(con, lakehouse)  # the views listed files a vacuum has removed
        con.execute("CHECKPOINT")
    os.replace(fresh, path)
    return removed


def _this_database(con: duckdb.DuckDBPyConnection) -> str:
    name = con.execute("SELECT current_database()").fetchone()[0]
    return '"' + name.replace('"', '""') + '"'


def _base_tables(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str, list[str]]]:
    rows = con.execute(
        "SELECT t.table_schema, t.table_name, list(c.column_name ORDER BY c.ordinal_position) "
        "FROM information_schema.tables AS t JOIN information_schema.columns AS c "
        "USING (table_catalog, table_schema, table_name) "
        "WHERE t.table_type = 'BASE TABLE' AND t.table_catalog = ? "
        "GROUP BY ALL ORDER BY ALL",
        [database],
    ).fetchall()
    return [(schema, name, list(columns)) for schema, name, columns in rows]


def purge_exports(folder: Path, erased: Erased) -> dict[str, int]:
    """Drop the erased people from every audience export under `folder`; rows removed per file."""
    removed: dict[str, int] = {}
    for manifest_path in sorted(folder.glob("*/*.manifest.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        file = manifest_path.with_name(manifest["file"])
        if not file.is_file():
            continue
        keys = pq.read_table(file) if manifest["format"] == "parquet" else pa_csv.read_csv(file)
        erased_rows = pc.is_in(keys["one_id"], value_set=pa.array(sorted(erased.one_ids), pa.string()))
        if "member_id_hmac" in keys.column_names:
            hmacs = pa.array(sorted(erased.hmacs), pa.string())
            erased_rows = pc.or_(erased_rows, pc.is_in(keys["member_id_hmac"], value_set=hmacs))
        count = pc.sum(pc.fill_null(erased_rows, False)).as_py() or 0
        if not count:
            continue
        kept = keys.filter(pc.invert(pc.fill_null(erased_rows, False)))
        _replace_file(file, kept, manifest["format"])
        manifest["counts"]["exported"] -= count
        manifest["counts"]["erased"] = manifest["counts"].get("erased", 0) + count
        manifest["sha256"] = _sha256(file)
        _write_text(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False))
        removed[str(file.relative_to(folder))] = count
    return removed


def _replace_file(path: Path, rows: pa.Table, file_format: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    if file_format == "parquet":
        pq.write_table(rows, partial)
    else:
        pa_csv.write_csv(rows, partial)
    os.replace(partial, path)


def _write_text(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
