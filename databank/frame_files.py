"""A DataFrame written as a Delta table's Parquet files by Spark's own tasks (the embedded profile).

Each task writes the rows it computed, a file per partition value it holds, into the table's folder,
and returns only what the Delta log needs of each file (path, size, partition values, row count). The
caller commits those files with delta-rs (`databank.lakehouse`): until then no reader sees them, and
a task that fails leaves files no version lists, which a vacuum removes.

The files hold what delta-rs would have written from the same rows: the schema `toArrow` gives,
without the partition columns (their values are in the folder names and the log), Snappy-compressed.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from urllib.parse import quote, unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.transaction import AddAction, RemoveAction
from pyspark.sql import DataFrame
from pyspark.sql.pandas.types import to_arrow_schema

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# Rows gathered before a row group is written: Spark hands a task's rows in batches of 10,000.
ROW_GROUP_ROWS = 256 * 1024
WRITTEN = (
    "path string, size long, partition_values string, modification_time long, rows long, rows_outside long"
)


class RowsOutsidePartitionsError(ValueError):
    """A DataFrame holds rows outside the partitions it is to replace."""


@dataclass(frozen=True)
class WrittenFiles:
    schema: pa.Schema  # of the table, partition columns included
    actions: list[AddAction]
    rows: dict[tuple[str | None, ...], int]  # by partition: the partition columns' values


def write_frame_files(
    frame: DataFrame, path: str, partition_by: list[str], where: Mapping[str, list[str | date]]
) -> WrittenFiles:
    """Write `frame`'s rows as Parquet files under `path` from Spark's tasks; the files, to commit.

    Every row must be one of `where`'s (column -> values, of the partition columns or not), as when
    delta-rs replaces the rows `where` names: a frame with any other row is refused, and its files
    are deleted.
    """
    schema = arrow_schema(frame)
    bounds = {column: [partition_text(v) for v in values] for column, values in where.items()}
    task = partial(
        _write_task_files, root=path, schema=schema, partition_by=tuple(partition_by), where=bounds
    )
    written = frame.mapInArrow(task, WRITTEN).collect()
    if any(row["rows_outside"] for row in written):
        for row in written:  # no version lists them: they go now, not at the next vacuum
            Path(path, unquote(row["path"])).unlink(missing_ok=True)
        outside = sorted({row["partition_values"] for row in written if row["rows_outside"]})
        raise RowsOutsidePartitionsError(
            f"rows written to {path} must be those of {bounds}; some are not (files of {outside})"
        )
    actions = [_add_action(row) for row in written]
    rows: dict[tuple[str | None, ...], int] = {}
    for action, row in zip(actions, written, strict=True):
        key = tuple(action.partition_values[column] for column in partition_by)
        rows[key] = rows.get(key, 0) + row["rows"]
    return WrittenFiles(schema, actions, rows)


def superseded_files(
    table: DeltaTable, where: Mapping[str, list[str | date]], partition_by: list[str]
) -> list[AddAction | RemoveAction]:
    """The actions that take `where`'s rows out of `table` when `where` names columns the table is
    not partitioned by (a feed's identifier sightings among every feed's of a day): each file of the
    partitions named that holds such rows is removed, and the rest of its rows, if any (a file
    compacted from several feeds' files), written to a new one."""
    in_partitions = {c: {partition_text(v) for v in vs} for c, vs in where.items() if c in partition_by}
    in_rows = {c: [partition_text(v) for v in vs] for c, vs in where.items() if c not in partition_by}
    files = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    root = table.table_uri.removeprefix("file://")
    now = int(time.time() * 1000)
    actions: list[AddAction | RemoveAction] = []
    for file in files:
        values = {c: partition_text(file[f"partition.{c}"]) for c in partition_by}
        if any(values[c] not in texts for c, texts in in_partitions.items()):
            continue
        local = Path(root, unquote(file["path"]))
        named = _rows_named(pq.read_table(local, columns=list(in_rows)), in_rows)
        held = pc.sum(named).as_py() or 0
        if not held:
            continue
        actions.append(RemoveAction(file["path"], True, now, file["size_bytes"], values))
        if held < len(named):
            kept = pq.read_table(local).filter(pc.invert(named))
            rest = _PartitionFile(root, values, kept.schema)
            rest.add(kept)
            actions.append(_add_action(rest.close()))
    return actions


def _add_action(file: Mapping) -> AddAction:
    stats = json.dumps({"numRecords": file["rows"]})
    values = json.loads(file["partition_values"])
    return AddAction(file["path"], file["size"], values, file["modification_time"], True, stats)


def _rows_named(rows: pa.Table, where: Mapping[str, list[str | None]]) -> pa.ChunkedArray:
    """Which of `rows` hold one of `where`'s values in each of its columns."""
    named = pa.chunked_array([pa.array([True] * rows.num_rows)])
    for column, values in where.items():
        value_set = pa.array(values, rows[column].type)
        named = pc.and_(named, pc.fill_null(pc.is_in(rows[column], value_set=value_set), False))
    return named


def arrow_schema(frame: DataFrame) -> pa.Schema:
    """The Arrow schema `frame.toArrow()` would give."""
    large = frame.sparkSession.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false") == "true"
    return to_arrow_schema(frame.schema, timezone="UTC", prefers_large_types=large)


def _write_task_files(
    batches: Iterator[pa.RecordBatch],
    *,
    root: str,
    schema: pa.Schema,
    partition_by: tuple[str, ...],
    where: Mapping[str, list[str]],
) -> Iterator[pa.RecordBatch]:
    """In a Spark task: its rows as a file per partition value; a row per file written."""
    files: dict[tuple, _PartitionFile] = {}
    data_schema = pa.schema([field for field in schema if field.name not in partition_by])
    try:
        for batch in batches:
            batch = pa.Table.from_batches([batch]).cast(schema)
            for values, rows in _split_by_partition(batch, partition_by):
                key = tuple(values.values())
                if key not in files:
                    files[key] = _PartitionFile(root, values, data_schema)
                outside = _outside(rows, values, where)
                files[key].add(rows.drop_columns(list(partition_by)), outside)
        written = [file.close() for file in files.values()]
    except BaseException:
        for file in files.values():
            file.abandon()
        raise
    if written:
        yield pa.RecordBatch.from_pylist(written)


def _outside(rows: pa.Table, partition: dict[str, str | None], where: Mapping[str, list[str]]) -> int:
    """How many of `rows` (all of one partition) are not `where`'s."""
    if any(partition[c] not in values for c, values in where.items() if c in partition):
        return rows.num_rows
    in_rows = {c: values for c, values in where.items() if c not in partition}
    return rows.num_rows - (pc.sum(_rows_named(rows, in_rows)).as_py() or 0) if in_rows else 0


def _split_by_partition(
    rows: pa.Table, partition_by: tuple[str, ...]
) -> Iterator[tuple[dict[str, str | None], pa.Table]]:
    if not partition_by:
        yield {}, rows
        return
    for key in rows.select(list(partition_by)).group_by(list(partition_by)).aggregate([]).to_pylist():
        chosen = None
        for column in partition_by:
            value = key[column]
            test = pc.is_null(rows[column]) if value is None else pc.equal(rows[column], value)
            chosen = test if chosen is None else pc.and_(chosen, test)
        yield {column: partition_text(key[column]) for column in partition_by}, rows.filter(chosen)


def partition_text(value) -> str | None:
    """A partition value as the Delta log writes it (a date: its ISO form)."""
    return None if value is None else str(value)


class _PartitionFile:
    """One Parquet file of a task's rows of one partition value, written a row group at a time."""

    def __init__(self, root: str, values: dict[str, str | None], schema: pa.Schema) -> None:
        folders = [f"{c}={quote(v, safe='') if v is not None else NULL_PARTITION}" for c, v in values.items()]
        name = f"part-{uuid.uuid4().hex}-c000.snappy.parquet"
        self.relative = quote("/".join([*folders, name]), safe="/=")  # the log holds a URI
        self.local = Path(root, *folders, name)
        self.local.parent.mkdir(parents=True, exist_ok=True)
        self.values = values
        self.writer = pq.ParquetWriter(self.local, schema, compression="snappy")
        self.pending: list[pa.Table] = []
        self.pending_rows = self.rows = self.rows_outside = 0

    def add(self, rows: pa.Table, outside: int = 0) -> None:
        self.rows_outside += outside
        self.pending.append(rows)
        self.pending_rows += rows.num_rows
        if self.pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.pending_rows:
            self.writer.write_table(pa.concat_tables(self.pending), row_group_size=self.pending_rows)
            self.rows += self.pending_rows
        self.pending, self.pending_rows = [], 0

    def close(self) -> dict:
        self._flush()
        self.writer.close()
        stat = os.stat(self.local)
        return {
            "path": self.relative,
            "size": stat.st_size,
            "partition_values": json.dumps(self.values),
            "modification_time": stat.st_mtime_ns // 1_000_000,
            "rows": self.rows,
            "rows_outside": self.rows_outside,
        }

    def abandon(self) -> None:
        self.writer.close()
        self.local.unlink(missing_ok=True)
