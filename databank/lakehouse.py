"""Delta Lake IO, in one place, for both profiles.

Tables live at `<lakehouse>/<layer>/<name>/`. Jobs hand DataFrames to `replace` (a transaction that
swaps the rows matching a partition predicate, so re-running a day, or a range of days, replaces it;
it says how many rows each partition received, so a job counts what it wrote without another pass),
Arrow tables to `append`, and
read with `read`, or with `read_small` for a table small enough to hand to the driver whole (a file
register, run logs): Arrow without a Spark job. `rows_per_partition` counts the rows of the
partitions `where` names (by partition columns): off the Delta log on the embedded profile, no Spark job.

- embedded: delta-rs (`deltalake`) commits the writes; Spark reads exactly the Parquet files the
  Delta log lists as active (the log is the truth, not the folder), so no Maven jars are needed. A
  DataFrame is written by Spark's own tasks, each its rows as Parquet files in the table's folder
  (`databank.frame_files`), and delta-rs commits the files they list: a day's rows never pass
  through the driver, which Spark lets hold 1 GB of results (a 1M-consumer brand's day of web
  events is more).
- cluster: delta-spark's own `format("delta")` with `replaceWhere`, the standard way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Literal, Protocol

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

from databank.config import Settings
from databank.frame_files import partition_text, superseded_files, write_frame_files
from databank.privacy.personal_columns import statistics_configuration

Layer = Literal["bronze", "silver", "gold", "quarantine", "ops", "privacy"]
PartitionValue = str | date
# The rows a replace wrote per partition: the partition columns' values, as the Delta log writes them.
RowsWritten = dict[tuple[str | None, ...], int]


class Lakehouse(Protocol):
    root: str

    def path(self, layer: Layer, name: str) -> str: ...

    def exists(self, layer: Layer, name: str) -> bool: ...

    def read(
        self,
        spark: SparkSession,
        layer: Layer,
        name: str,
        where: Mapping[str, list[PartitionValue]] | None = None,
    ) -> DataFrame | None: ...

    def read_small(
        self,
        spark: SparkSession,
        layer: Layer,
        name: str,
        where: Mapping[str, list[PartitionValue]] | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table | None: ...

    def replace(
        self,
        data: DataFrame | pa.Table,
        layer: Layer,
        name: str,
        where: Mapping[str, PartitionValue | list[PartitionValue]],
        partition_by: list[str],
    ) -> RowsWritten: ...

    def append(self, data: pa.Table, layer: Layer, name: str, partition_by: list[str]) -> None: ...

    def rows_per_partition(
        self,
        spark: SparkSession,
        layer: Layer,
        name: str,
        where: Mapping[str, list[PartitionValue]],
        partition_by: list[str],
    ) -> RowsWritten: ...


def lakehouse_for(settings: Settings) -> Lakehouse:
    root = str(settings.lakehouse)
    return ClusterLakehouse(root) if settings.profile == "cluster" else EmbeddedLakehouse(root)


def _predicate(where: Mapping[str, PartitionValue | list[PartitionValue]]) -> str:
    """The SQL predicate of the partitions `where` names: a value, or a list of them (days of a range);
    a list of one is the night's `=`, the predicate nights have always written."""

    def literal(value: PartitionValue) -> str:
        return "'" + str(value).replace("'", "''") + "'"

    def condition(column: str, value: PartitionValue | list[PartitionValue]) -> str:
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, list):
            return f"{column} IN ({', '.join(literal(v) for v in value)})"
        return f"{column} = {literal(value)}"

    return " AND ".join(condition(column, value) for column, value in sorted(where.items()))


def _as_lists(
    where: Mapping[str, PartitionValue | list[PartitionValue]],
) -> dict[str, list[PartitionValue]]:
    return {column: value if isinstance(value, list) else [value] for column, value in where.items()}


def _partition_filters(where: Mapping[str, list[PartitionValue]] | None) -> list[tuple] | None:
    """delta-rs' partition filters for `where` (None: every partition)."""
    filters = [(c, "in", [partition_text(v) for v in values]) for c, values in (where or {}).items()]
    return filters or None


class EmbeddedLakehouse:
    """Writes with delta-rs, reads with Spark over the active files of the Delta log."""

    def __init__(self, root: str) -> None:
        self.root = root

    def path(self, layer: Layer, name: str) -> str:
        return str(Path(self.root) / layer / name)

    def exists(self, layer: Layer, name: str) -> bool:
        return (Path(self.path(layer, name)) / "_delta_log").is_dir()

    def read(self, spark, layer, name, where=None):
        if not self.exists(layer, name):
            return None
        path = self.path(layer, name)
        table = DeltaTable(path)
        schema = from_arrow_schema(pa.schema(table.schema().to_arrow()))
        files = table.file_uris(file_pruning_predicate=_partition_filters(where))
        if not files:
            return spark.createDataFrame([], schema)
        return spark.read.schema(schema).option("basePath", path).parquet(*files)

    def read_small(self, spark, layer, name, where=None, columns=None):
        if not self.exists(layer, name):
            return None
        table = DeltaTable(self.path(layer, name))
        return table.to_pyarrow_table(partitions=_partition_filters(where), columns=columns)

    def replace(self, data, layer, name, where, partition_by):
        path = self.path(layer, name)
        if isinstance(data, DataFrame):
            return self._replace_frame(data, path, _as_lists(where), partition_by)
        if self.exists(layer, name):
            write_deltalake(
                path, data, mode="overwrite", predicate=_predicate(where), partition_by=partition_by
            )
        else:
            self._create(data, path, partition_by)
        return _rows_by_partition(data, partition_by)

    def append(self, data, layer, name, partition_by):
        if self.exists(layer, name):  # appended records gain columns as the code grows (run figures)
            write_deltalake(
                self.path(layer, name), data, mode="append", partition_by=partition_by, schema_mode="merge"
            )
        else:
            self._create(data, self.path(layer, name), partition_by)

    def rows_per_partition(self, spark, layer, name, where, partition_by):
        """Read off the Delta log: every file this lakehouse commits records its rows (`numRecords`)."""
        if not self.exists(layer, name):
            return {}
        wanted = {column: {partition_text(v) for v in values} for column, values in where.items()}
        counts: RowsWritten = {}
        for file in pa.table(DeltaTable(self.path(layer, name)).get_add_actions(flatten=True)).to_pylist():
            values = {c: partition_text(file[f"partition.{c}"]) for c in {*partition_by, *wanted}}
            if any(values[c] not in texts for c, texts in wanted.items()):
                continue
            if file["num_records"] is None:
                raise ValueError(f"{layer}.{name}: the Delta log holds no row count for {file['path']}")
            key = tuple(values[c] for c in partition_by)
            counts[key] = counts.get(key, 0) + file["num_records"]
        return counts

    @staticmethod
    def _create(arrow: pa.Table, path: str, partition_by: list[str]) -> None:
        """A new Delta table at `path` holding `arrow`, which keeps statistics of no personal column."""
        configuration = statistics_configuration(arrow.schema.names)
        write_deltalake(path, arrow, mode="append", partition_by=partition_by, configuration=configuration)

    def _replace_frame(
        self, frame: DataFrame, path: str, where: dict[str, list[PartitionValue]], partition_by: list[str]
    ) -> RowsWritten:
        """Spark's tasks write the files, delta-rs swaps them for `where`'s rows in one commit."""
        written = write_frame_files(frame, path, partition_by, where)
        table = self._table(path, written.schema, partition_by)
        if set(where) <= set(partition_by):
            mode, actions, filters = "overwrite", written.actions, _partition_filters(where)
        else:
            mode, actions, filters = (
                "append",
                [*written.actions, *superseded_files(table, where, partition_by)],
                None,
            )
        table.create_write_transaction(
            actions, mode=mode, schema=written.schema, partition_by=partition_by, partition_filters=filters
        )
        return written.rows

    @staticmethod
    def _table(path: str, schema: pa.Schema, partition_by: list[str]) -> DeltaTable:
        """The Delta table at `path`, created empty with `schema` if there is none yet."""
        if not (Path(path) / "_delta_log").is_dir():
            EmbeddedLakehouse._create(schema.empty_table(), path, partition_by)
        return DeltaTable(path)


class ClusterLakehouse:
    """delta-spark on a cluster: the standard `format("delta")` reader and writer."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")

    def path(self, layer: Layer, name: str) -> str:
        return f"{self.root}/{layer}/{name}"

    def exists(self, layer: Layer, name: str) -> bool:
        from delta.tables import DeltaTable as SparkDeltaTable

        return SparkDeltaTable.isDeltaTable(SparkSession.getActiveSession(), self.path(layer, name))

    def read(self, spark, layer, name, where=None):
        if not self.exists(layer, name):
            return None
        frame = spark.read.format("delta").load(self.path(layer, name))
        for column, values in (where or {}).items():
            frame = frame.where(frame[column].isin([str(v) for v in values]))
        return frame

    def read_small(self, spark, layer, name, where=None, columns=None):
        frame = self.read(spark, layer, name, where)
        if frame is None:
            return None
        return (frame.select(*columns) if columns else frame).toArrow()

    def replace(self, data, layer, name, where, partition_by):
        frame = _to_spark(data)
        (
            frame.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", _predicate(where))
            .partitionBy(*partition_by)
            .save(self.path(layer, name))
        )
        # Counted on what was committed: delta-spark's writer does not say per partition.
        return self.rows_per_partition(frame.sparkSession, layer, name, _as_lists(where), partition_by)

    def rows_per_partition(self, spark, layer, name, where, partition_by):
        frame = self.read(spark, layer, name, where)
        if frame is None:
            return {}
        counts = frame.groupBy(*partition_by).count().collect()
        return {tuple(partition_text(v) for v in row[:-1]): row[-1] for row in counts}

    def append(self, data, layer, name, partition_by):
        writer = _to_spark(data).write.format("delta").mode("append").option("mergeSchema", "true")
        writer.partitionBy(*partition_by).save(self.path(layer, name))


def _rows_by_partition(rows: pa.Table, partition_by: list[str]) -> RowsWritten:
    if not partition_by:
        return {(): rows.num_rows} if rows.num_rows else {}
    counts = rows.group_by(partition_by).aggregate([([], "count_all")]).to_pylist()
    return {tuple(partition_text(c[column]) for column in partition_by): c["count_all"] for c in counts}


def _to_spark(data: DataFrame | pa.Table) -> DataFrame:
    if isinstance(data, DataFrame):
        return data
    return SparkSession.getActiveSession().createDataFrame(
        data.to_pandas(), schema=from_arrow_schema(data.schema)
    )
