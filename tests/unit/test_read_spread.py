"""Records read from a Parquet file holding most of a night are spread over the session's cores."""

from __future__ import annotations

from pathlib import Path

from databank.landing import DeliveredFile
from spark_jobs.read_delivery import SPREAD_FROM_ROWS, spread_partitions


def _file(file_format: str, rows: int) -> DeliveredFile:
    return DeliveredFile(Path(f"f.{file_format}"), "sum", 1, file_format, None, rows)


def test_a_parquet_file_holding_most_of_the_night_is_spread_over_the_cores():
    night = [_file("parquet", 427_573), _file("csv", 8_342)]  # a location SDK's day, and wifi pings

    assert spread_partitions(night, cores=2) == 2
    assert spread_partitions(night, cores=8) == 8


def test_records_stay_as_read_when_the_cores_are_busy_already_or_a_shuffle_costs_more():
    parquet_platforms = [_file("parquet", rows) for rows in (60_000, 55_000, 40_000, 30_000, 1_000)]
    a_month = [_file("parquet", 430_000) for _ in range(30)]
    one_big_text_file = [_file("jsonl", 400_000)]  # Spark splits a text file among its tasks
    small_night = [_file("parquet", SPREAD_FROM_ROWS - 1)]

    assert spread_partitions(parquet_platforms, cores=2) is None
    assert spread_partitions(a_month, cores=2) is None
    assert spread_partitions(one_big_text_file, cores=2) is None
    assert spread_partitions(small_night, cores=2) is None
    assert spread_partitions([_file("parquet", 427_573)], cores=1) is None
    assert spread_partitions([], cores=2) is None
