"""The analyst warehouse (DuckDB): silver Delta tables exposed to dbt, read through their Delta log,
and the published file opened for reading.

Each silver table becomes a view `silver.<table>` over exactly the Parquet files its Delta log lists
as active (on the cluster profile, gold's and intermediate's tables too: `databank.gold_warehouse`),
so the warehouse file can be opened by any later process (dbt, notebooks, BI) without copying the
history into DuckDB; the views are regenerated before every build, when the log has
moved on. An empty Delta table becomes an empty table of its schema.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from databank.gold_tables import MARTS_SCHEMA

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


# The lakehouse folder of each schema dbt reads or writes on the cluster profile
# (`databank.spark_marts`; dbt_project/macros/generate_schema_name.sql)
SCHEMA_FOLDERS = {
    "silver": "silver",
    "staging": "staging",
    "intermediate": "intermediate",
    MARTS_SCHEMA: "gold",
}
# The schemas of dbt-spark's tables that the cluster profile's warehouse shows as views beside silver's
# (`databank.gold_warehouse`)
GOLD_WAREHOUSE_SCHEMAS = ("intermediate", MARTS_SCHEMA)


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
    return register_delta_tables(con, lakehouse / "silver", "silver", tables)


def refresh_delta_views(con: duckdb.DuckDBPyConnection, lakehouse: Path) -> None:
    """Point every view of a Delta table in the file at the files its log lists now (after a vacuum
    the earlier ones are gone): silver's, and on the cluster profile those of intermediate and gold."""
    register_silver(con, lakehouse)
    for schema in GOLD_WAREHOUSE_SCHEMAS:
        views = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'VIEW'",
            [schema],
        ).fetchall()
        register_delta_tables(con, lakehouse / SCHEMA_FOLDERS[schema], schema, [name for (name,) in views])


def delta_tables_in(folder: Path) -> list[str]:
    """The Delta tables directly under `folder`, by name."""
    return sorted(log.parent.name for log in folder.glob("*/_delta_log"))


def register_delta_tables(
    con: duckdb.DuckDBPyConnection, folder: Path, schema: str, tables: Iterable[str]
) -> list[str]:
    """Create or refresh `<schema>.<table>` over `folder/<table>` for every table of `tables` that is a
    Delta table; return their names."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    # What an earlier build made of each table: a view, or an empty table (DuckDB's DROP VIEW fails
    # on a table, so drop by kind).
    existing = dict(
        con.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ?", [schema]
        ).fetchall()
    )
    registered = []
    for name in tables:
        path = folder / name
        if not (path / "_delta_log").is_dir():
            continue
        table = DeltaTable(str(path))
        files = table.file_uris()
        if name in existing:
            con.execute(f"DROP {'VIEW' if existing[name] == 'VIEW' else 'TABLE'} {schema}.{name}")
        if files:
            con.execute(
                f"CREATE VIEW {schema}.{name} AS SELECT * FROM "
                f"read_parquet({files!r}, hive_partitioning = true, union_by_name = true)"
            )
        else:
            empty = pa.schema(table.schema().to_arrow()).empty_table()
            con.register("_empty_delta", empty)
            con.execute(f"CREATE TABLE {schema}.{name} AS SELECT * FROM _empty_delta")
            con.unregister("_empty_delta")
        registered.append(name)
    return registered
