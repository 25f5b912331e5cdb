"""Standardise one feed for one local day: bronze -> silver (Delta).

Silver holds each record once (a record id already delivered on one of the previous
`dedupe_lookback_days` days is dropped), event times in UTC beside their local business date,
online refunds and POS returns linked to the sales they undo, and `silver.identifiers`: every hashed
identifier a record carries, which the identity job reads. Reference snapshots (stores, products, …)
are kept per delivery day; readers take the latest. Re-running a day replaces it.

    python -m spark_jobs.standardise --feed online_orders --date 2026-05-01
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from databank.config import Settings, load_settings
from databank.contracts import load_contract
from databank.lakehouse import Lakehouse, lakehouse_for
from databank.spark_session import build_session
from spark_jobs.transforms.standardise import (
    IDENTIFIER_SCHEMA,
    canonical,
    first_delivery,
    identifier_sightings,
    link_online_refunds,
    link_pos_returns,
)

IDENTIFIERS_TABLE = "identifiers"
SNAPSHOT_FEEDS = ("brands", "stores", "products", "campaigns", "keywords")


@dataclass(frozen=True)
class StandardiseResult:
    feed: str
    dt: date
    rows_bronze: int
    rows_silver: int
    identifier_sightings: int


class NotIngestedError(RuntimeError):
    """Standardise runs after ingest; there is no bronze table for the feed yet."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feed", required=True)
    parser.add_argument(
        "--date", required=True, type=date.fromisoformat, help="local business day, YYYY-MM-DD"
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    spark = build_session(settings, f"standardise {args.feed} {args.date}")
    print(standardise(spark, lakehouse_for(settings), settings, args.feed, args.date))


def standardise(
    spark: SparkSession, lake: Lakehouse, settings: Settings, feed: str, day: date
) -> StandardiseResult:
    contract = load_contract(feed)
    bronze = lake.read(spark, "bronze", feed, {"dt": [day]})
    if bronze is None:
        raise NotIngestedError(f"bronze.{feed} does not exist: ingest {feed} before standardising it")
    silver = silver_rows(spark, lake, settings, feed, day, bronze)
    lake.replace(silver, "silver", feed, {"dt": day}, ["dt"])

    rows = spark.createDataFrame(silver) if silver.num_rows else None
    sightings = (
        identifier_sightings(rows, contract) if rows else spark.createDataFrame([], IDENTIFIER_SCHEMA)
    ).toArrow()
    lake.replace(sightings, "silver", IDENTIFIERS_TABLE, {"feed": feed, "dt": day}, ["dt"])
    return StandardiseResult(feed, day, bronze.count(), silver.num_rows, sightings.num_rows)


def silver_rows(
    spark: SparkSession, lake: Lakehouse, settings: Settings, feed: str, day: date, bronze: DataFrame
) -> pa.Table:
    """The silver rows of a day's bronze rows of `feed`: canonical, each record once, sales linked."""
    contract = load_contract(feed)
    frame = canonical(bronze, contract, settings.business_timezone)
    if feed not in SNAPSHOT_FEEDS:
        earlier = _earlier(spark, lake, feed, day, settings.ingest.dedupe_lookback_days)
        frame = first_delivery(frame, contract.record_id, earlier)
    frame = _link(spark, lake, settings, feed, day, frame)
    return frame.drop("ingest_source_file").toArrow()


def _link(spark, lake, settings, feed: str, day: date, frame: DataFrame) -> DataFrame:
    lookback = settings.ingest.refund_lookback_days
    if feed == "online_orders":
        earlier = _earlier(spark, lake, feed, day, lookback)
        sales = earlier.where(F.col("order_type") == "sale") if earlier is not None else None
        return link_online_refunds(frame, sales)
    if feed == "pos_transactions":
        earlier = _earlier(spark, lake, feed, day, lookback)
        sales = earlier.where(F.col("line_type") == "sale") if earlier is not None else None
        return link_pos_returns(frame, sales)
    return frame


def _earlier(spark: SparkSession, lake: Lakehouse, feed: str, day: date, days: int) -> DataFrame | None:
    """Silver rows of the `days` local days before `day` (a bounded read: the night's cost stays flat)."""
    if days == 0:
        return None
    return lake.read(spark, "silver", feed, {"dt": [day - timedelta(days=n) for n in range(1, days + 1)]})


if __name__ == "__main__":
    main()
