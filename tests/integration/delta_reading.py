"""What the integration tests share: the generated window they ingest, reading Delta back, and the
content of a published warehouse."""

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from databank.contracts import feeds
from databank.lakehouse import EmbeddedLakehouse

START, DAYS = date(2019, 5, 1), 3
FEEDS = [*feeds("event"), "members"]
# Reference snapshots the marts join; the first day's serves every later day.
REFERENCE_FEEDS = ["brands", "stores", "products", "campaigns", "keywords"]


def read_table(lake: EmbeddedLakehouse, layer: str, name: str) -> pl.DataFrame:
    """A Delta table as polars reads it (through delta-rs), as an analyst's notebook would."""
    return pl.read_delta(lake.path(layer, name))


def warehouse_checksums(path: Path) -> dict[str, tuple[int, int | None]]:
    """Rows and an order-free hash of the content of every table and view of a warehouse file, by
    `schema.name`; staging views aside (they are their sources, renamed)."""
    with duckdb.connect(str(path), read_only=True) as con:
        relations = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema <> 'staging' ORDER BY ALL"
        ).fetchall()
        # hash() of the whole row reads every value as stored: a double that moved in its last bit
        # changes the checksum.
        return {
            f"{schema}.{name}": con.execute(
                f'SELECT count(*), sum(hash(t)) FROM "{schema}"."{name}" AS t'
            ).fetchone()
            for schema, name in relations
        }


def changed_tables(before: dict[str, tuple], after: dict[str, tuple]) -> set[str]:
    """The relations of two `warehouse_checksums` that differ, or that only one of them holds."""
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
