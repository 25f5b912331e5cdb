"""What ingestion writes of a checked record: bronze for a valid one, quarantine for a rejected one.

A pure DataFrame function: `sorted_records` decides every record's fate in one projection (bronze,
quarantine or suppressed, with what the vault and the file register need of it), so a day's
delivery, or a range of days' deliveries, is computed by one Spark action whatever it is split into.
Each record carries the day of the folder its file was delivered in (`DELIVERY_DAY`): bronze and
quarantine are partitioned by it, and its ingestion batch is that day's.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from databank.contracts import Contract, hashed_names
from spark_jobs.transforms.identifiers import redacted
from spark_jobs.transforms.parse import RAW, UNREAD_KEYS
from spark_jobs.transforms.validate import REASON, REASON_COLUMN, RECORD_TEXT

SOURCE_FILE = "_source_file"
SOURCE_CHECKSUM = "_source_checksum"
DELIVERY_DAY = "_delivery_day"
# The columns of `sorted_records`: a record's fate, and what it carries to each destination.
FATE, BRONZE, QUARANTINE, SUPPRESSED = "fate", "bronze", "quarantine", "suppressed"
VAULT, UNREAD = "vault", "unread_keys"


def sorted_records(
    checked: DataFrame, contract: Contract, meta: dict, suppressed: Column, vault: Column | None
) -> DataFrame:
    """Each checked record once: its `fate` (suppressed, bronze or quarantine), its bronze and
    quarantine rows as structs (only the one its fate names is kept), the vault entries of a bronze
    record (`vault`, when identifiers are vaulted) and the JSON keys its line held that the contract
    does not know, masked (`unread_keys`: a key may be an identifier), with its source file.

    The structs are never null: Spark's Arrow conversion refuses a null struct whose fields are not
    nullable (the ingestion metadata). Suppressed records are counted, never stored.
    """
    fate = F.when(suppressed, SUPPRESSED).when(F.col(REASON).isNull(), BRONZE).otherwise(QUARANTINE)
    unread = (
        F.transform(UNREAD_KEYS, redacted)
        if UNREAD_KEYS in checked.columns
        else F.array().cast("array<string>")
    )
    columns = [
        fate.alias(FATE),
        F.struct(*_bronze_columns(checked.columns, contract, meta)).alias(BRONZE),
        F.struct(*_quarantine_columns(contract, meta)).alias(QUARANTINE),
        unread.alias(UNREAD),
        F.col(SOURCE_FILE),
        F.col(DELIVERY_DAY),
    ]
    if vault is not None:
        columns.append(F.when(fate == BRONZE, vault).alias(VAULT))
    return checked.select(*columns)


def _bronze_columns(columns: list[str], contract: Contract, meta: dict) -> list[Column]:
    hashed = hashed_names(contract)
    return [
        *(F.col(name).alias(hashed.get(name, name)) for name in contract.column_names),
        *(F.col(c) for c in columns if c.endswith("_status")),
        F.col(SOURCE_FILE).alias("ingest_source_file"),
        F.col(SOURCE_CHECKSUM).alias("ingest_checksum"),
        *_ingestion_columns(meta),
    ]


def _quarantine_columns(contract: Contract, meta: dict) -> list[Column]:
    record_id = F.coalesce(F.col(contract.record_id).cast(StringType()), _record_id_in_line(contract))
    return [
        F.lit(contract.feed).alias("feed"),
        record_id.alias("record_id"),
        F.col(REASON).alias("reason"),
        F.col(REASON_COLUMN).alias("reason_column"),
        # Masking a line costs two regular expressions: only a rejected record's line is masked.
        F.when(F.col(REASON).isNotNull(), F.coalesce(F.col(RECORD_TEXT), redacted(F.col(RAW)))).alias(
            "raw_text"
        ),
        F.col(SOURCE_FILE).alias("ingest_source_file"),
        F.col(SOURCE_CHECKSUM).alias("ingest_checksum"),
        *_ingestion_columns(meta),
    ]


def _ingestion_columns(meta: dict) -> list[Column]:
    """`meta`: the feed, the run's token, when it ran, and the first day (every record has its own
    delivery day; the coalesce only tells Spark the column is never null, as bronze declares it)."""
    day = F.coalesce(F.col(DELIVERY_DAY), F.lit(meta["dt"]))
    return [
        F.concat_ws("-", F.lit(meta["feed"]), day.cast(StringType()), F.lit(meta["token"])).alias(
            "ingest_batch_id"
        ),
        F.lit(meta["at"]).alias("ingested_at"),
        day.alias("dt"),
    ]


def _record_id_in_line(contract: Contract):
    """The record id of a line that did not parse, where it can still be read off the line."""
    as_json = F.regexp_extract(F.col(RAW), f'"{contract.record_id}"\\s*:\\s*"([^"]*)"', 1)
    first_field = F.regexp_extract(F.col(RAW), r'^"?([^",]*)"?,', 1)
    candidate = as_json if "jsonl" in contract.formats else first_field
    return F.nullif(candidate, F.lit(""))
