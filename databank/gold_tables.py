"""Gold Delta tables kept level with the warehouse's marts, writing only what changed.

A small mart is overwritten each night (one new Delta version). A big mart whose nightly
change gathers in a few values of one column (`GOLD_PARTITIONS`, or a model's
`meta: {gold_partition_by: <column>}`) is partitioned by that column, and only the partitions whose
row count or checksum differ from the warehouse are rewritten, in one commit: a night costs what it
changed, plus a scan of both sides in DuckDB, and a re-run, a backfill or a full refresh rewrites
exactly what differs. Files a commit removed stay for `retention_days` (time travel and readers
mid-scan) and are then vacuumed; the Delta log keeps 30 days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
from deltalake import DeltaTable, write_deltalake

from databank.privacy.personal_columns import statistics_configuration

MARTS_SCHEMA = "marts"

# The column along which each big incremental mart changes at night. State history: a spell, once
# closed, never changes again, so a night rewrites the open spells (valid_to null) and adds the spells
# it closed. Touchpoints: a night adds its own `loaded_date`; but touches re-resolved after tonight's
# identity merges sit in older days, and Parquet rewrites whole files (delta-rs writes no deletion
# vectors), so a night with merges rewrites those days too: on the demo data, every day.
GOLD_PARTITIONS: Mapping[str, str] = {"fct_touchpoints": "loaded_date", "aipl_state_history": "valid_to"}
GOLD_CONFIGURATION = {
    "delta.deletedFileRetentionDuration": "interval 7 days",
    "delta.logRetentionDuration": "interval 30 days",
}


@dataclass(frozen=True)
class PublishedTable:
    name: str
    rows: int
    gold_path: Path
    gold_version: int
    partition_by: str | None  # None: one unpartitioned Delta table
    partitions_written: int  # 0: unchanged since the last night; an unpartitioned table counts as one


def publish_gold(
    con: duckdb.DuckDBPyConnection,
    gold: Path,
    partitions: Mapping[str, str],
    rewrite_all: bool = False,
    retention_hours: int = 7 * 24,
) -> list[PublishedTable]:
    """Bring `gold/<table>` (Delta) level with every table of the `marts` schema; return what was done."""
    names = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
            [MARTS_SCHEMA],
        ).fetchall()
    ]
    published = []
    for name in names:
        path = gold / name
        columns = [row[0] for row in con.execute(f"DESCRIBE {MARTS_SCHEMA}.{name}").fetchall()]
        partition = partitions.get(name) if partitions.get(name) in columns else None
        written = _publish_table(con, name, path, columns, partition, rewrite_all)
        table = DeltaTable(str(path))
        table.vacuum(retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False)
        rows = con.execute(f"SELECT count(*) FROM {MARTS_SCHEMA}.{name}").fetchone()[0]
        published.append(PublishedTable(name, rows, path, table.version(), partition, written))
    return published


def _publish_table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    path: Path,
    columns: list[str],
    partition: str | None,
    rewrite_all: bool,
) -> int:
    """Write the partitions of gold/<name> that differ from the warehouse (an unpartitioned table is
    one partition); return how many were written."""
    existing = DeltaTable(str(path)) if (path / "_delta_log").is_dir() else None
    existing_columns = [f.name for f in existing.schema().fields] if existing is not None else []
    if existing is not None:
        # Before any write: delta-rs keeps the properties a table was created with, so files written
        # now would otherwise keep the statistics an earlier rule allowed.
        _restrict_statistics(existing, [c for c in existing_columns if c in columns])
    if (
        rewrite_all
        or existing is None
        or existing.metadata().partition_columns != ([partition] if partition else [])
        or existing_columns != columns
    ):
        _overwrite(con, name, path, partition)
        if existing is not None:
            _restrict_statistics(DeltaTable(str(path)), columns)  # statistics of the columns it gained
        if partition is None:
            return 1
        distinct = f'SELECT DISTINCT "{partition}" FROM {MARTS_SCHEMA}.{name}'
        return con.execute(f"SELECT count(*) FROM ({distinct})").fetchone()[0]

    files = existing.file_uris()
    gold_rows = (
        f"read_parquet({files!r}, hive_partitioning = true, hive_types_autocast = false)"
        if files
        else f"(SELECT * FROM {MARTS_SCHEMA}.{name} LIMIT 0)"
    )
    changed = con.execute(f"""
        WITH wh AS ({_checksums(f"{MARTS_SCHEMA}.{name}", columns, partition)}),
            gold AS ({_checksums(gold_rows, columns, partition)})
        SELECT coalesce(wh.part, gold.part) AS part
        FROM wh FULL OUTER JOIN gold ON wh.part IS NOT DISTINCT FROM gold.part
        WHERE wh.rows IS DISTINCT FROM gold.rows OR wh.checksum IS DISTINCT FROM gold.checksum
    """).fetchall()
    if not changed:
        return 0  # no new Delta version for a table that did not change
    if partition is None:
        _overwrite(con, name, path, None)
        return 1
    values = [row[0] for row in changed if row[0] is not None]
    literals = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    is_null = [f'"{partition}" IS NULL'] if len(values) < len(changed) else []
    in_delta = " OR ".join([f'"{partition}" IN ({literals})'] * bool(values) + is_null)
    in_warehouse = " OR ".join([f'CAST("{partition}" AS VARCHAR) IN ({literals})'] * bool(values) + is_null)
    replacing = con.sql(f"SELECT * FROM {MARTS_SCHEMA}.{name} WHERE {in_warehouse}").to_arrow_reader()
    write_deltalake(str(path), replacing, mode="overwrite", predicate=in_delta, partition_by=[partition])
    return len(changed)


def _restrict_statistics(table: DeltaTable, columns: list[str]) -> None:
    """Keep statistics of the columns `statistics_configuration` allows among `columns`, on a table
    created under an earlier rule or with other columns."""
    wanted = statistics_configuration(columns)
    current = table.metadata().configuration
    if any(current.get(key) != value for key, value in wanted.items()):
        table.alter.set_table_properties(wanted)


def _overwrite(con: duckdb.DuckDBPyConnection, name: str, path: Path, partition: str | None) -> None:
    rows = con.sql(f"SELECT * FROM {MARTS_SCHEMA}.{name}").to_arrow_reader()
    write_deltalake(
        str(path),
        rows,
        mode="overwrite",
        schema_mode="overwrite",
        partition_by=[partition] if partition else None,
        configuration={**GOLD_CONFIGURATION, **statistics_configuration(rows.schema.names)},
    )


def _checksums(relation: str, columns: list[str], partition: str | None) -> str:
    """Rows and a checksum per partition value (as text) of a relation."""
    # Every value as text, so the warehouse's types and those read back from Parquet hash alike.
    values = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in columns if c != partition)
    part = f'CAST("{partition}" AS VARCHAR)' if partition else "''"
    return (
        f"SELECT {part} AS part, count(*) AS rows, sum(hash({values})) AS checksum FROM {relation} GROUP BY 1"
    )
