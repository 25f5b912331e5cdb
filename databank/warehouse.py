"""The analyst warehouse (DuckDB): silver Delta tables exposed to dbt, read through their Delta log,
and the published file opened for reading.

Each silver table becomes a view `silver.<table>` over exactly the Parquet files its Delta log lists
as active, so the warehouse file can be opened by any later process (dbt, notebooks, BI) without
copying the history into DuckDB; the views are regenerated before every build, when the log has
moved on. An empty Delta table becomes an empty table of its schema.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

SILVER_TABLES = (
    "online_orders",
    "online_events",
    "pos_transactions",
    "media_exposures",
    "lbs_pings",
    "members",
    "erasure_requests",
    "brands",
    "stores",
    "products",
    "campaigns",
    "keywords",
    "identifiers",
    "identity_map",
    "identity_guards",
    "one_id_history",
)


class NoWarehouseError(FileNotFoundError):
    """No night has been published to the warehouse path yet."""


def open_published(path: Path) -> duckdb.DuckDBPyConnection:
    """A new read-only connection to the published warehouse (a night swaps in a new file, so each
    reader opens its own); NoWarehouseError when there is none yet."""
    if not path.is_file():
        raise NoWarehouseError(
            f"no warehouse at {path}: build the marts first, no night has been published yet "
            "(`databank run --date D`, or `databank marts --date D` over an existing lakehouse)"
        )
    return duckdb.connect(str(path), read_only=True)


def register_silver(con: duckdb.DuckDBPyConnection, lakehouse: Path, tables=SILVER_TABLES) -> list[str]:
    """Create or refresh `silver.<table>` for every table of `tables` that exists; return their names."""
    con.execute("CREATE SCHEMA IF NOT EXISTS silver")
    # What an earlier build made of each table: a view, or an empty table (DuckDB's DROP VIEW fails
    # on a table, so drop by kind).
    existing = dict(
        con.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'silver'"
        ).fetchall()
    )
    registered = []
    for name in tables:
        path = lakehouse / "silver" / name
        if not (path / "_delta_log").is_dir():
            continue
        table = DeltaTable(str(path))
        files = table.file_uris()
        if name in existing:
            con.execute(f"DROP {'VIEW' if existing[name] == 'VIEW' else 'TABLE'} silver.{name}")
        if files:
            con.execute(
                f"CREATE VIEW silver.{name} AS SELECT * FROM "
                f"read_parquet({files!r}, hive_partitioning = true, union_by_name = true)"
            )
        else:
            empty = pa.schema(table.schema().to_arrow()).empty_table()
            con.register("_empty_delta", empty)
            con.execute(f"CREATE TABLE silver.{name} AS SELECT * FROM _empty_delta")
            con.unregister("_empty_delta")
        registered.append(name)
    return registered
