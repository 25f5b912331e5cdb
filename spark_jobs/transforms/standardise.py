"""Bronze rows into canonical silver rows: local business dates, one row per record id, refunds
linked to what they refund, and every identifier sighting in one long table for identity."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from databank.contracts import Contract, local_date_column

INGEST_ONLY = ("ingest_checksum", "ingest_batch_id", "ingested_at")
IDENTIFIER_SCHEMA = (
    "feed string, record_id string, identifier_type string, identifier_namespace string,"
    " identifier_hmac string, identifier_status string,"
    " seen_at timestamp, seen_date date, dt date"
)


def canonical(bronze: DataFrame, contract: Contract, tz: str) -> DataFrame:
    """Bronze without ingestion bookkeeping, with the local business date of the event time."""
    frame = bronze.drop(*INGEST_ONLY)
    if contract.event_time:
        column = contract.event_time.column
        frame = frame.withColumn(local_date_column(column), F.to_date(F.from_utc_timestamp(column, tz)))
    return frame


def first_delivery(today: DataFrame, record_id: str, earlier_ids: DataFrame | None) -> DataFrame:
    """One row per record id: the first delivered today, and none already in silver on an earlier day."""
    order = Window.partitionBy(record_id).orderBy("ingest_source_file")
    once = today.withColumn("_n", F.row_number().over(order)).where(F.col("_n") == 1).drop("_n")
    if earlier_ids is None:
        return once
    return once.join(earlier_ids.select(F.col(record_id)).distinct(), record_id, "left_anti")


def link_online_refunds(orders: DataFrame, earlier_sales: DataFrame | None) -> DataFrame:
    """Refund lines get the order of the sale they refund and whether that sale is known."""
    sales = orders.where(F.col("order_type") == "sale").select("order_line_id", "order_id")
    if earlier_sales is not None:
        sales = sales.unionByName(earlier_sales.select("order_line_id", "order_id"))
    sales = sales.dropDuplicates(["order_line_id"]).select(
        F.col("order_line_id").alias("refund_of_line_id"), F.col("order_id").alias("refunded_order_id")
    )
    linked = orders.join(sales, "refund_of_line_id", "left")
    return linked.withColumn(
        "is_refund_linked",
        F.when(F.col("order_type") == "refund", F.col("refunded_order_id").isNotNull()),
    )


def link_pos_returns(lines: DataFrame, earlier_sales: DataFrame | None) -> DataFrame:
    """Return lines get the sale line (same receipt and product) they take back, if it is known."""
    sales = lines.where(F.col("line_type") == "sale").select("receipt_line_id", "receipt_id", "sku")
    if earlier_sales is not None:
        sales = sales.unionByName(earlier_sales.select("receipt_line_id", "receipt_id", "sku"))
    first_line = Window.partitionBy("receipt_id", "sku").orderBy("receipt_line_id")
    sales = (
        sales.dropDuplicates(["receipt_line_id"])
        .withColumn("_n", F.row_number().over(first_line))
        .where(F.col("_n") == 1)
        .select(
            F.col("receipt_id").alias("original_receipt_id"),
            "sku",
            F.col("receipt_line_id").alias("returned_line_id"),
        )
    )
    linked = lines.join(sales, ["original_receipt_id", "sku"], "left")
    return linked.withColumn(
        "is_return_linked", F.when(F.col("line_type") == "return", F.col("returned_line_id").isNotNull())
    )


def identifier_sightings(silver: DataFrame, contract: Contract) -> DataFrame:
    """Every hashed identifier a record carries: (feed, record, type, namespace, hash, status, when)."""
    seen_at = F.col(contract.event_time.column) if contract.event_time else F.lit(None).cast("timestamp")
    seen_date = F.col(local_date_column(contract.event_time.column)) if contract.event_time else F.col("dt")
    parts = []
    for column in contract.identifier_columns:
        if not column.identifier.type:
            continue  # identifiers named row by row (erasure requests) are requests, not sightings
        parts.append(
            silver.where(F.col(f"{column.name}_hmac").isNotNull()).select(
                F.lit(contract.feed).alias("feed"),
                F.col(contract.record_id).cast("string").alias("record_id"),
                F.lit(column.identifier.type).alias("identifier_type"),
                _namespace(column.identifier.namespace_column).alias("identifier_namespace"),
                F.col(f"{column.name}_hmac").alias("identifier_hmac"),
                F.col(f"{column.name}_status").alias("identifier_status"),
                seen_at.alias("seen_at"),
                seen_date.alias("seen_date"),
                F.col("dt"),
            )
        )
    if not parts:
        return silver.sparkSession.createDataFrame([], IDENTIFIER_SCHEMA)
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def _namespace(column: str | None):
    """What scopes an identifier (an account's platform), as normalisation spells it."""
    return F.lower(F.trim(F.col(column))) if column else F.lit(None).cast("string")
