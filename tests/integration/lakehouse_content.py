"""The content of a lakehouse, table by table, as two ways of loading the same deliveries must agree
on it: rows as multisets, with what only says which run wrote a row (batch ids, clock times) set
aside, and consumer ids named by their consumer's least identifier (an id's name is minted by the
run that first saw the consumer; its membership is what a load decides)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder

# Columns that say which run wrote a row, not what the row holds.
RUN_COLUMNS = {"ingest_batch_id", "ingested_at", "batch_id", "registered_at", "finished_at"}


def tables(lakehouse: Path, layer: str) -> list[str]:
    return sorted(p.parent.name for p in (lakehouse / layer).glob("*/_delta_log"))


def consumer_names(lakehouse: Path, day: date) -> dict[str, str]:
    """Each consumer id of the map after `day`, named by the least identifier it holds."""
    snapshot = pl.read_delta(str(lakehouse / "silver" / "identity_map")).filter(pl.col("dt") == day)
    named = snapshot.group_by("one_id").agg(pl.col("node").min().alias("name"))
    return dict(zip(named["one_id"].to_list(), named["name"].to_list(), strict=True))


def rows(
    lakehouse: Path,
    layer: str,
    table: str,
    names: dict[str, str] | None = None,
    without: tuple[str, ...] = (),
    dt: date | None = None,
) -> Counter:
    """The table's rows as a multiset (of one `dt` if given), run columns and `without` aside, consumer
    ids renamed by `names` in every text column."""
    frame = pl.read_delta(str(lakehouse / layer / table))
    if dt is not None:
        frame = frame.filter(pl.col("dt") == dt)
    frame = frame.drop([c for c in frame.columns if c in RUN_COLUMNS or c in without])
    if names:  # ids stand alone or inside keys made of them (a spell's id): renamed wherever they are
        text = [c for c, kind in frame.schema.items() if kind == pl.String]
        frame = frame.with_columns(pl.col(text).str.replace_many(list(names), list(names.values())))
    return Counter(tuple(map(_hashable, row)) for row in frame.select(sorted(frame.columns)).iter_rows())


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def differences(left: Counter, right: Counter) -> int:
    """Rows in one multiset and not the other, counted both ways."""
    return sum(((left - right) + (right - left)).values())


def read_table(lakehouse: Path, table: str) -> pa.Table:
    """A Delta table (`layer.name`) at its current version as delta-rs reads it (what dbt-duckdb, the
    gold export and notebooks use)."""
    layer, name = table.split(".")
    return (
        QueryBuilder()
        .register("t", DeltaTable(str(lakehouse / layer / name)))
        .execute("SELECT * FROM t")
        .read_all()
    )


def column_types(table: pa.Table) -> dict[str, str]:
    return {field.name: str(field.type) for field in table.schema if field.name not in RUN_COLUMNS}


def checksum(table: pa.Table) -> tuple[int, int | None]:
    """Rows and an order-free hash of every row's values, run columns aside."""
    columns = [name for name in table.column_names if name not in RUN_COLUMNS]
    values = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in columns)
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.register("t", table)
        return con.execute(f"SELECT count(*), sum(hash([{values}])) FROM t").fetchone()


def tables_that_differ(left: Path, right: Path, tables: list[str]) -> dict[str, dict]:
    """The tables (`layer.name`) whose column types or content differ between two lakehouses, with
    the columns whose types differ and both row counts."""
    differ = {}
    for table in tables:
        one, other = read_table(left, table), read_table(right, table)
        types, other_types = column_types(one), column_types(other)
        if types != other_types or checksum(one) != checksum(other):
            differ[table] = {
                "types": {
                    name: (types.get(name), other_types.get(name))
                    for name in types.keys() | other_types.keys()
                    if types.get(name) != other_types.get(name)
                },
                "rows": (one.num_rows, other.num_rows),
            }
    return differ
