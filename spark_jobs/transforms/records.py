"""What ingestion writes of a checked record: bronze for a valid one, quarantine for a rejected one.

Pure DataFrame functions: `sorted_records` decides every record's fate in one projection (bronze,
quarantine or suppressed, with what the vault and the file register need of it), so a day's
delivery, or a range of days' deliveries, is computed by one Spark action whatever it is split into;
`destined` gives the rows of one fate as they are written, with their ingestion metadata.
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
    checked: DataFrame, contract: Contract, suppressed: Column, vault: Column | None
) -> DataFrame:
    """Each checked record once: its `fate` (suppressed, bronze or quarantine), its bronze and
    quarantine fields as structs (only the one its fate names is kept), the vault entries of a bronze
    record (`vault`, when identifiers are vaulted) and the JSON keys its line held that the contract
    does not know, masked (`unread_keys`: a key may be an identifier), with its source file, the
    file's checksum and its delivery day.

    The structs are never null: Spark's Arrow conversion refuses a null struct whose fields are not
    nullable. Suppressed records are counted, never stored.
    """
    fate = F.when(suppressed, SUPPRESSED).when(F.col(REASON).isNull(), BRONZE).otherwise(QUARANTINE)
    unread = (
        F.transform(UNREAD_KEYS, redacted)
        if UNREAD_KEYS in checked.columns
        else F.array().cast("array<string>")
    )
    columns = [
        fate.alias(FATE),
        F.struct(*_bronze_columns(checked.columns, contract)).alias(BRONZE),
        F.struct(*_quarantine_columns(contract)).alias(QUARANTINE),
        unread.alias(UNREAD),
        F.col(SOURCE_FILE),
        F.col(SOURCE_CHECKSUM),
        F.col(DELIVERY_DAY),
    ]
    if vault is not None:
        columns.append(F.when(fate == BRONZE, vault).alias(VAULT))
    return checked.select(*columns)


def destined(records: DataFrame, fate: str, meta: dict) -> DataFrame:
    """The rows of `records` (`sorted_records`) whose fate is `fate`, bronze or quarantine, as they are
    written: the record's fields and its ingestion metadata. The metadata is the same for every
    record of a file and day, so it is added here rather than held by every cached record.

    `meta`: the feed, the run's token, when it ran, and the first day (every record has its own
    delivery day; the coalesce only tells Spark the column is never null, as bronze declares it)."""
    day = F.coalesce(F.col(DELIVERY_DAY), F.lit(meta["dt"]))
    leading = [F.lit(meta["feed"]).alias("feed")] if fate == QUARANTINE else []
    return records.where(F.col(FATE) == fate).select(
        *leading,
        f"{fate}.*",
        F.col(SOURCE_FILE).alias("ingest_source_file"),
        F.col(SOURCE_CHECKSUM).alias("ingest_checksum"),
        F.concat_ws("-", F.lit(meta["feed"]), day.cast(StringType()), F.lit(meta["token"])).alias(
            "ingest_batch_id"
        ),
        F.lit(meta["at"]).alias("ingested_at"),
        day.alias("dt"),
    )


def _bronze_columns(columns: list[str], contract: Contract) -> list[Column]:
    hashed = hashed_names(contract)
    return [
        *(F.col(name).alias(hashed.get(name, name)) for name in contract.column_names),
        *(F.col(c) for c in columns if c.endswith("_status")),
    ]


def _quarantine_columns(contract: Contract) -> list[Column]:
    record_id = F.coalesce(F.col(contract.record_id).cast(StringType()), _record_id_in_line(contract))
    return [
        record_id.alias("record_id"),
        F.col(REASON).alias("reason"),
        F.col(REASON_COLUMN).alias("reason_column"),
        # Masking a line costs two regular expressions: only a rejected record's line is masked.
        F.when(F.col(REASON).isNotNull(), F.coalesce(F.col(RECORD_TEXT), redacted(F.col(RAW)))).alias(
            "raw_text"
        ),
    ]


def _record_id_in_line(contract: Contract):
    """The record id of a line that did not parse, where it can still be read off the line."""
    as_json = F.regexp_extract(F.col(RAW), f'"{contract.record_id}"\\s*:\\s*"([^"]*)"', 1)
    first_field = F.regexp_extract(F.col(RAW), r'^"?([^",]*)"?,', 1)
    candidate = as_json if "jsonl" in contract.formats else first_field
    return F.nullif(candidate, F.lit(""))
