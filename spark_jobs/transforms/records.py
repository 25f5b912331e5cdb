"""What ingestion writes of a checked record: bronze for a valid one, quarantine for a rejected one.

Pure DataFrame functions, chained with `DataFrame.transform` by `spark_jobs.ingest_feed`.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from databank.contracts import Contract, hashed_names
from spark_jobs.transforms.identifiers import redacted
from spark_jobs.transforms.parse import RAW
from spark_jobs.transforms.validate import REASON, REASON_COLUMN, RECORD_TEXT

SOURCE_FILE = "_source_file"
SOURCE_CHECKSUM = "_source_checksum"


def to_bronze(valid: DataFrame, contract: Contract, meta: dict) -> DataFrame:
    """Valid records with hashed identifiers named `<column>_hmac` and the ingestion metadata."""
    renamed = valid.withColumnsRenamed(hashed_names(contract))
    statuses = [c for c in valid.columns if c.endswith("_status")]
    return renamed.select(
        *(hashed_names(contract).get(name, name) for name in contract.column_names),
        *statuses,
        F.col(SOURCE_FILE).alias("ingest_source_file"),
        F.col(SOURCE_CHECKSUM).alias("ingest_checksum"),
        F.lit(meta["batch"]).alias("ingest_batch_id"),
        F.lit(meta["at"]).alias("ingested_at"),
        F.lit(meta["dt"]).alias("dt"),
    )


def to_quarantine(rejected: DataFrame, contract: Contract, meta: dict) -> DataFrame:
    """Rejected records: why, where from, and their text with identifiers hashed or redacted."""
    record_id = F.coalesce(F.col(contract.record_id).cast(StringType()), _record_id_in_line(contract))
    return rejected.select(
        F.lit(contract.feed).alias("feed"),
        record_id.alias("record_id"),
        F.col(REASON).alias("reason"),
        F.col(REASON_COLUMN).alias("reason_column"),
        F.coalesce(F.col(RECORD_TEXT), redacted(F.col(RAW))).alias("raw_text"),
        F.col(SOURCE_FILE).alias("ingest_source_file"),
        F.col(SOURCE_CHECKSUM).alias("ingest_checksum"),
        F.lit(meta["batch"]).alias("ingest_batch_id"),
        F.lit(meta["at"]).alias("ingested_at"),
        F.lit(meta["dt"]).alias("dt"),
    )


def _record_id_in_line(contract: Contract):
    """The record id of a line that did not parse, where it can still be read off the line."""
    as_json = F.regexp_extract(F.col(RAW), f'"{contract.record_id}"\\s*:\\s*"([^"]*)"', 1)
    first_field = F.regexp_extract(F.col(RAW), r'^"?([^",]*)"?,', 1)
    candidate = as_json if "jsonl" in contract.formats else first_field
    return F.nullif(candidate, F.lit(""))
