"""What the integration tests share: the generated window they ingest, and reading Delta back."""

from datetime import date

import polars as pl

from databank.contracts import feeds
from databank.lakehouse import EmbeddedLakehouse

START, DAYS = date(2026, 5, 1), 3
FEEDS = [*feeds("event"), "members"]
# Reference snapshots the marts join; the first day's serves every later day.
REFERENCE_FEEDS = ["brands", "stores", "products", "campaigns", "keywords"]


def read_table(lake: EmbeddedLakehouse, layer: str, name: str) -> pl.DataFrame:
    """A Delta table as polars reads it (through delta-rs), as an analyst's notebook would."""
    return pl.read_delta(lake.path(layer, name))
