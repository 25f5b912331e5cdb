"""Empty silver tables for the feeds a brand does not have, or has not delivered yet.

Which feeds a brand has is configuration (`[pipeline] required_feeds` and `optional_feeds`): a
web-only retailer has no POS, LBS or media feed, a brand may never send campaigns. The marts read
every feed's silver table, so a feed without one, unlisted or not delivered yet, gets an empty table
of the shape standardise gives its rows, made by the same code on no record: its marts are empty
where the feed is absent, and the others are built from the feeds the brand has. A feed delivered
later fills its table as any feed does.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pyspark.sql import SparkSession

from databank.config import Settings
from databank.contracts import all_contracts
from databank.lakehouse import Lakehouse
from spark_jobs.ingest_feed import empty_bronze
from spark_jobs.standardise import silver_rows


def feeds_without_silver(lakehouse: Path) -> list[str]:
    """The feeds of a contract that have no silver table yet."""
    return [feed for feed in all_contracts() if not (lakehouse / "silver" / feed / "_delta_log").is_dir()]


def create_empty_silver(spark: SparkSession, lake: Lakehouse, settings: Settings, day: date) -> list[str]:
    """An empty silver table for every feed without one; the feeds it was made for."""
    missing = feeds_without_silver(settings.lakehouse)
    for feed in missing:
        bronze = spark.createDataFrame(empty_bronze(spark, settings, feed, day))
        lake.replace(
            silver_rows(spark, lake, settings, feed, [day], bronze), "silver", feed, {"dt": day}, ["dt"]
        )
    return missing
