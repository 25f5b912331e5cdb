"""The data a suite validates, as pandas DataFrames with Arrow-backed columns.

Columns keep the exact Arrow type Delta or DuckDB stores (`int64[pyarrow]`, `date32[day][pyarrow]`,
...), so a suite can hold a column to the type its contract declares, and a null stays a null in every
type. Delta tables are read through the files their log lists (pyarrow datasets), never through
`DeltaTable.to_pyarrow_*`, which can abort the process at exit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable

DAY_PARTITION = "dt"  # every bronze and silver table is partitioned by its delivery day


def as_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a DataFrame whose columns keep their Arrow types."""
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def delta_day(path: Path, day: date) -> pd.DataFrame:
    """The rows of one day of a Delta table; a frame without columns if the table does not exist."""
    if not is_delta(path):
        return pd.DataFrame()
    table = DeltaTable(str(path))
    schema = pa.schema(table.schema().to_arrow())
    files = _day_files(table, day)
    data = _dataset(path, files, schema).to_table() if files else schema.empty_table()
    return as_frame(data)


def rows_per_day(path: Path, days: Iterable[date]) -> dict[date, int]:
    """Rows of each of `days` that a Delta table holds (days without any file are left out).

    Only Parquet footers are read, so it costs the same whatever the size of a day.
    """
    if not is_delta(path):
        return {}
    table = DeltaTable(str(path))
    schema = pa.schema(table.schema().to_arrow())
    counts = {}
    for day in days:
        files = _day_files(table, day)
        if files:
            counts[day] = _dataset(path, files, schema).count_rows()
    return counts


def latest_ingest_run(runs: Path, feed: str, day: date) -> dict | None:
    """The last ingest run of `feed` for `day` in the runs log (`ops.ingest_runs`, partitioned by feed)."""
    if not is_delta(runs):
        return None
    table = DeltaTable(str(runs))
    files = table.file_uris(file_pruning_predicate=[("feed", "=", feed)])
    if not files:
        return None
    rows = _dataset(runs, files, pa.schema(table.schema().to_arrow())).to_table(filter=ds.field("dt") == day)
    return max(rows.to_pylist(), key=lambda row: row["finished_at"], default=None)


def is_delta(path: Path) -> bool:
    return (path / "_delta_log").is_dir()


def _day_files(table: DeltaTable, day: date) -> list[str]:
    return table.file_uris(file_pruning_predicate=[(DAY_PARTITION, "=", day.isoformat())])


def _dataset(path: Path, files: list[str], schema: pa.Schema) -> ds.Dataset:
    """The files of a Delta table typed by its own schema: its day folders' names are text, and
    delta-spark also writes each file's day into the file, as a date."""
    return ds.dataset(files, schema=schema, partitioning="hive", partition_base_dir=str(path))
