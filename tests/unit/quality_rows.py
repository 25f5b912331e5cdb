"""Tiny batches that keep a feed's contract, as bronze and silver store them, for the quality tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa

from databank.contracts import Column, Contract, local_date_column
from databank.quality.batches import as_frame
from databank.quality.suites import stored_name

ARROW = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def clean_table(contract: Contract, day: date, rows: int = 3, silver: bool = False) -> pa.Table:
    """`rows` records of `day` that break no rule of the contract (silver: with the local date)."""
    columns = {
        stored_name(contract, c.name): pa.array([_value(c, day, n) for n in range(rows)], ARROW[c.type])
        for c in contract.columns
    }
    if silver and contract.event_time:
        columns[local_date_column(contract.event_time.column)] = pa.array([day] * rows, pa.date32())
    return pa.table(columns)


def clean_frame(contract: Contract, day: date, rows: int = 3, silver: bool = False) -> pd.DataFrame:
    return as_frame(clean_table(contract, day, rows, silver))


def hmac_like(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _value(column: Column, day: date, n: int):
    if column.identifier:
        return hmac_like(f"{column.name}-{n}")
    if column.enum:
        return column.enum[0]
    if column.pattern:  # the contracts' patterns are lower-case names
        return f"{column.name}_{n}"
    if column.type == "string":
        return f"{column.name}-{n}"
    if column.type in ("int", "float"):
        low = column.min if column.min is not None else 1
        value = min(low, column.max) if column.max is not None else low
        return int(value) if column.type == "int" else float(value)
    if column.type == "boolean":
        return True
    if column.type == "date":
        return day
    # 04:00 UTC: noon of the same day in the default business time zone (Asia/Shanghai)
    return datetime(day.year, day.month, day.day, 4, tzinfo=UTC)
