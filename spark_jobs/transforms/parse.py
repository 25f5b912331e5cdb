"""Delivered lines and Parquet rows into one raw shape: every contract column as text.

Parsing never drops a line: a line that is not a JSON object, or a CSV row with the wrong number of
fields, keeps its raw text and gets a `_parse_error`.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from databank.contracts import Contract

RAW = "_raw"
PARSE_ERROR = "_parse_error"
CORRUPT = "_corrupt_record"
# Quoted CSV fields, doubled quotes included, so commas inside them are not counted.
QUOTED_FIELD = r'"(?:[^"]|"")*"'


def all_text_schema(contract: Contract) -> StructType:
    return StructType([StructField(name, StringType()) for name in contract.column_names])


def parse_json_lines(lines: DataFrame, contract: Contract) -> DataFrame:
    """`value` lines of JSON objects into text columns; anything else is `malformed_json`."""
    schema = all_text_schema(contract).add(CORRUPT, StringType())
    parsed = F.from_json(F.col("value"), schema, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT})
    return _with_fields(
        lines,
        contract,
        parsed,
        lambda fields, _: F.when(fields[CORRUPT].isNotNull(), F.lit("malformed_json")),
    )


def parse_csv_lines(lines: DataFrame, contract: Contract, header: str) -> DataFrame:
    """CSV `value` lines (header dropped) into text columns; a wrong field count is `malformed_row`."""
    rows = lines.where(F.col("value") != F.lit(header))
    ddl = ", ".join(f"`{name}` STRING" for name in contract.column_names)
    parsed = F.from_csv(F.col("value"), F.lit(ddl), {"mode": "PERMISSIVE"})
    fields = len(contract.columns)
    return _with_fields(
        rows, contract, parsed, lambda _, line: F.when(_field_count(line) != fields, F.lit("malformed_row"))
    )


def _field_count(line: Column) -> Column:
    return F.size(F.split(F.regexp_replace(line, QUOTED_FIELD, "q"), ",", -1))


def parquet_as_text(rows: DataFrame, contract: Contract) -> DataFrame:
    """Typed Parquet rows into the same text shape; their raw text is their fields (no line exists)."""
    missing = [name for name in contract.column_names if name not in rows.columns]
    for name in missing:
        rows = rows.withColumn(name, F.lit(None).cast(StringType()))
    text = rows.select(
        *(_as_text(rows, name).alias(name) for name in contract.column_names),
        *(c for c in rows.columns if c.startswith("_")),
    )
    return text.withColumn(RAW, F.lit(None).cast(StringType())).withColumn(
        PARSE_ERROR, F.lit(None).cast(StringType())
    )


def _as_text(rows: DataFrame, name: str) -> Column:
    if dict(rows.dtypes)[name].startswith("timestamp"):
        return F.date_format(name, "yyyy-MM-dd'T'HH:mm:ss'Z'")
    return F.col(name).cast(StringType())


def _with_fields(lines: DataFrame, contract: Contract, parsed: Column, error) -> DataFrame:
    """Spread the parsed struct into columns; parsed once, in its own projection, then read by field."""
    extra = [c for c in lines.columns if c.startswith("_")]
    staged = lines.select(F.col("value"), parsed.alias("_parsed"), *extra)
    failed = error(F.col("_parsed"), F.col("value"))
    return staged.select(
        *(F.when(failed.isNull(), F.col("_parsed")[name]).alias(name) for name in contract.column_names),
        F.col("value").alias(RAW),
        failed.alias(PARSE_ERROR),
        *extra,
    )
