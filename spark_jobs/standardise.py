"""Standardise one feed for one local day: bronze -> silver (Delta).

Silver holds each record once (a record id already delivered on one of the previous
`dedupe_lookback_days` days is dropped), event times in UTC beside their local business date,
online refunds and POS returns linked to the sales they undo, and `silver.identifiers`: every hashed
identifier a record carries, which the identity job reads. Reference snapshots (stores, products, …)
are kept per delivery day; readers take the latest. Re-running a day replaces it. A history load
standardises a range of days in one pass (`--until`), with the same rules applied day by day.

    python -m spark_jobs.standardise --feed online_orders --date 2026-05-01 [--until 2026-05-31]
    python -m spark_jobs.standardise --feed online_orders,pos_transactions --date 2026-05-01

Several feeds run in turn in one Spark application (`spark_jobs.each_feed`), as the nightly DAG
submits them on the cluster profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from databank.business_days import days_between, distinct_days
from databank.config import Settings
from databank.contracts import load_contract
from databank.lakehouse import Lakehouse, RowsWritten
from spark_jobs.each_feed import run_job
from spark_jobs.transforms.standardise import (
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


# Failures a retry cannot fix: the task fails at once (databank.pipeline, spark_jobs.not_retryable).
NOT_RETRYABLE_ERRORS = (NotIngestedError,)


def main(argv: list[str] | None = None) -> None:
    run_job("standardise", __doc__, argv, standardise_days, NOT_RETRYABLE_ERRORS)


def standardise(
    spark: SparkSession, lake: Lakehouse, settings: Settings, feed: str, day: date
) -> StandardiseResult:
    return standardise_days(spark, lake, settings, feed, [day])[0]


def standardise_days(
    spark: SparkSession, lake: Lakehouse, settings: Settings, feed: str, days: list[date]
) -> list[StandardiseResult]:
    """Standardise `feed` for each of `days` in one pass: silver as the days' nights would leave it."""
    days = distinct_days(days)
    contract = load_contract(feed)
    bronze = lake.read(spark, "bronze", feed, {"dt": days})
    if bronze is None:
        raise NotIngestedError(f"bronze.{feed} does not exist: ingest {feed} before standardising it")
    # Computed once, for the silver rows and the sightings read off them; pseudonymised rows only, so
    # Spark may spill them to its disk.
    silver = silver_rows(spark, lake, settings, feed, days, bronze).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        where = {"dt": days}
        silver_of = lake.replace(silver, "silver", feed, where, ["dt"])
        sightings = identifier_sightings(silver, contract)
        sightings_of = lake.replace(sightings, "silver", IDENTIFIERS_TABLE, {"feed": feed, **where}, ["dt"])
    finally:
        silver.unpersist()
    bronze_of = lake.rows_per_partition(spark, "bronze", feed, where, ["dt"])
    return [
        StandardiseResult(feed, d, _of_day(bronze_of, d), _of_day(silver_of, d), _of_day(sightings_of, d))
        for d in days
    ]


def silver_rows(
    spark: SparkSession, lake: Lakehouse, settings: Settings, feed: str, days: list[date], bronze: DataFrame
) -> DataFrame:
    """The silver rows of the days' bronze rows of `feed`: canonical, each record once, sales linked."""
    contract = load_contract(feed)
    frame = canonical(bronze, contract, settings.business_timezone)
    if feed not in SNAPSHOT_FEEDS:
        lookback = settings.ingest.dedupe_lookback_days
        earlier = _earlier(spark, lake, feed, days, lookback)
        frame = first_delivery(frame, contract.record_id, earlier, lookback)
    frame = _link(spark, lake, settings, feed, days, frame)
    return frame.drop("ingest_source_file")


def _link(spark, lake, settings, feed: str, days: list[date], frame: DataFrame) -> DataFrame:
    lookback = settings.ingest.refund_lookback_days
    if feed == "online_orders":
        earlier = _earlier(spark, lake, feed, days, lookback)
        sales = earlier.where(F.col("order_type") == "sale") if earlier is not None else None
        return link_online_refunds(frame, sales, lookback)
    if feed == "pos_transactions":
        earlier = _earlier(spark, lake, feed, days, lookback)
        sales = earlier.where(F.col("line_type") == "sale") if earlier is not None else None
        return link_pos_returns(frame, sales, lookback)
    return frame


def _earlier(
    spark: SparkSession, lake: Lakehouse, feed: str, days: list[date], lookback: int
) -> DataFrame | None:
    """Silver rows of the `lookback` local days before the first of `days` (a bounded read: the
    night's cost stays flat)."""
    if lookback == 0:
        return None
    before = days_between(days[0] - timedelta(days=lookback), days[0] - timedelta(days=1))
    return lake.read(spark, "silver", feed, {"dt": before})


def _of_day(written: RowsWritten, day: date) -> int:
    return written.get((day.isoformat(),), 0)


if __name__ == "__main__":
    main()
