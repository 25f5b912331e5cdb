"""Delivered lines and Parquet rows into one raw shape: every contract column as text.

Parsing never drops a line: a line that is not a JSON object, or a CSV row with the wrong number of
fields, keeps its raw text and gets a `_parse_error`. Fields are read by name: a CSV file's own
header names its columns (in any order), JSON keys are matched exactly (a source mapping may name
the key that fills a column), and the keys a JSON line holds that no column reads are listed in
`_unread_keys`. CSV is read in the file's dialect (RFC 4180 unless its mapping says otherwise, fields
split at blanks when it says `whitespace`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from databank.contracts import Contract
from databank.delivered_text import FIELD_BLANKS, RFC_4180, SENTINEL_BREAKS, CsvDialect

RAW = "_raw"
PARSE_ERROR = "_parse_error"
CORRUPT = "_corrupt_record"
UNREAD_KEYS = "_unread_keys"


def all_text_schema(contract: Contract) -> StructType:
    return StructType([StructField(name, StringType()) for name in contract.column_names])


def parse_json_lines(
    lines: DataFrame, contract: Contract, keys: Mapping[str, str] | None = None
) -> DataFrame:
    """`value` lines of JSON objects into text columns; anything else is `malformed_json`.

    `keys` names, by contract column, the key that holds it (its own name when omitted); a column
    left out of `keys` is not read (null).
    """
    keys = {name: name for name in contract.column_names} if keys is None else dict(keys)
    schema = StructType([StructField(key, StringType()) for key in keys.values()]).add(CORRUPT, StringType())
    parsed = F.from_json(F.col("value"), schema, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT})
    known = F.array(*(F.lit(key) for key in keys.values()))
    unread = F.array_except(F.json_object_keys(F.col("value")), known)
    return _with_fields(
        lines.withColumn(UNREAD_KEYS, unread),
        contract,
        parsed,
        lambda fields, _: F.when(fields[CORRUPT].isNotNull(), F.lit("malformed_json")),
        keys,
    )


def parse_csv_lines(
    lines: DataFrame,
    contract: Contract,
    header: str | None,
    columns: list[str] | None = None,
    dialect: CsvDialect = RFC_4180,
) -> DataFrame:
    """CSV `value` lines of one file into text columns; a wrong field count is `malformed_row`.

    `header` is the file's header line (dropped wherever it repeats), `columns` the contract's names
    of its fields (the contract's columns, in its order, when omitted). A line break inside a quoted
    field arrives as a sentinel (`databank.delivered_text`) and is put back in the field.
    """
    columns = columns or contract.column_names
    rows = lines if header is None else lines.where(F.col("value") != F.lit(header))
    if dialect.splits_on_blanks:
        fields = _blank_separated(F.col("value"))
        parsed = F.struct(*(F.try_element_at(fields, F.lit(n + 1)).alias(c) for n, c in enumerate(columns)))
    else:
        ddl = ", ".join(f"`{name.replace('`', '``')}` STRING" for name in columns)
        # RFC 4180: a quote inside a quoted field is doubled (Spark's default escape is a backslash).
        options = {
            "mode": "PERMISSIVE",
            "sep": dialect.separator,
            "quote": dialect.quote,
            "escape": dialect.quote,
        }
        parsed = F.from_csv(F.col("value"), F.lit(ddl), options)
    read = {name: name for name in contract.column_names if name in columns}

    def error(_, line: Column) -> Column:
        return F.when(_field_count(line, dialect) != len(columns), F.lit("malformed_row"))

    text = _with_fields(rows, contract, parsed, error, read)
    sentinels = "".join(SENTINEL_BREAKS)
    breaks = "".join(SENTINEL_BREAKS.values())
    return text.withColumns(
        {name: F.translate(F.col(name), sentinels, breaks) for name in [*contract.column_names, RAW]}
    )


def _blank_separated(line: Column) -> Column:
    """The fields of a whitespace-separated line, as `databank.delivered_text` splits them."""
    return F.split(F.regexp_replace(line, f"^{FIELD_BLANKS}|{FIELD_BLANKS}$", ""), FIELD_BLANKS, -1)


def _field_count(line: Column, dialect: CsvDialect) -> Column:
    if dialect.splits_on_blanks:
        return F.size(_blank_separated(line))
    # Quoted fields, doubled quotes included, first become one letter: separators inside them do not count.
    quote, separator = re.escape(dialect.quote), re.escape(dialect.separator)
    quoted_field = f"{quote}(?:[^{quote}]|{quote}{quote})*{quote}"
    return F.size(F.split(F.regexp_replace(line, quoted_field, "q"), separator, -1))


def parquet_as_text(rows: DataFrame, contract: Contract) -> DataFrame:
    """Typed Parquet rows into the same text shape; their raw text is their fields (no line exists)."""
    missing = [name for name in contract.column_names if name not in rows.columns]
    for name in missing:
        rows = rows.withColumn(name, F.lit(None).cast(StringType()))
    text = rows.select(*(_as_text(rows, name).alias(name) for name in contract.column_names))
    return text.withColumn(RAW, F.lit(None).cast(StringType())).withColumn(
        PARSE_ERROR, F.lit(None).cast(StringType())
    )


def _as_text(rows: DataFrame, name: str) -> Column:
    if dict(rows.dtypes)[name].startswith("timestamp"):
        return F.date_format(name, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
    return F.col(name).cast(StringType())


def _with_fields(
    lines: DataFrame, contract: Contract, parsed: Column, error, read: Mapping[str, str]
) -> DataFrame:
    """Spread the parsed struct into columns; parsed once, in its own projection, then read by field.

    `read` names, by contract column, its field in the parsed struct; the others are null.
    """
    extra = [c for c in lines.columns if c.startswith("_")]
    staged = lines.select(F.col("value"), parsed.alias("_parsed"), *extra)
    failed = error(F.col("_parsed"), F.col("value"))

    def field(name: str) -> Column:
        value = F.col("_parsed")[read[name]] if name in read else F.lit(None).cast(StringType())
        return F.when(failed.isNull(), value).alias(name)

    return staged.select(
        *(field(name) for name in contract.column_names),
        F.col("value").alias(RAW),
        failed.alias(PARSE_ERROR),
        *extra,
    )
