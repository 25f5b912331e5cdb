"""A DataFrame handed to the embedded lakehouse is written by Spark's tasks and committed by delta-rs:
the table holds what the driver's Arrow path writes from the same rows, a replace swaps only the
partitions it names, rows outside them are refused before anything is committed, and the rows each
partition holds are read off the log."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from deltalake.transaction import AddAction

from databank.frame_files import RowsOutsidePartitionsError
from databank.lakehouse import EmbeddedLakehouse

MAY_1, MAY_2, MAY_3 = date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)


def _rows(spark, days: list[date], per_day: int, tag: str):
    rows = [
        (f"{tag}-{day}-{i}", f"{i:064x}", datetime(2026, 5, 1, 8, i % 60, tzinfo=UTC), i * 1.5, day)
        for day in days
        for i in range(per_day)
    ]
    schema = "record_id string, device_id_hmac string, seen_at timestamp, amount double, dt date"
    # Several tasks, each holding rows of several days: each writes a file per day it holds.
    return spark.createDataFrame(rows, schema).repartition(3)


def _content(path: str) -> pa.Table:
    table = DeltaTable(path).to_pyarrow_table()
    return table.cast(
        pa.schema(
            [
                f.with_type(pa.string())
                if pa.types.is_string(f.type)
                or pa.types.is_large_string(f.type)
                or pa.types.is_string_view(f.type)
                else f
                for f in table.schema
            ]
        )
    ).sort_by("record_id")


def test_a_frame_written_by_the_tasks_holds_what_the_arrow_path_writes(spark, tmp_path):
    frame = _rows(spark, [MAY_1, MAY_2], 500, "a")
    by_tasks, by_driver = (
        EmbeddedLakehouse(str(tmp_path / "tasks")),
        EmbeddedLakehouse(str(tmp_path / "driver")),
    )
    written = by_tasks.replace(frame, "silver", "pings", {"dt": [MAY_1, MAY_2]}, ["dt"])
    written_by_driver = by_driver.replace(frame.toArrow(), "silver", "pings", {"dt": [MAY_1, MAY_2]}, ["dt"])

    tasks_table, driver_table = (
        DeltaTable(by_tasks.path("silver", "pings")),
        DeltaTable(by_driver.path("silver", "pings")),
    )
    assert _content(by_tasks.path("silver", "pings")).equals(_content(by_driver.path("silver", "pings")))
    assert tasks_table.schema() == driver_table.schema()
    assert tasks_table.metadata().partition_columns == ["dt"]
    # No statistics of a column that can name a person, as any table the lakehouse creates.
    configuration = tasks_table.metadata().configuration
    assert configuration == driver_table.metadata().configuration
    assert "device_id_hmac" not in configuration["delta.dataSkippingStatsColumns"]
    added = [
        action["num_records"] for action in pa.table(tasks_table.get_add_actions(flatten=False)).to_pylist()
    ]
    assert sum(added) == 1000
    # and each path says what each day received
    assert written == written_by_driver == {(str(MAY_1),): 500, (str(MAY_2),): 500}
    # and Spark reads back every row, each under its own day
    read = by_tasks.read(spark, "silver", "pings", {"dt": [MAY_2]})
    assert read.count() == 500
    assert {row["dt"] for row in read.select("dt").distinct().collect()} == {MAY_2}


def test_a_replace_swaps_only_the_partitions_it_names(spark, tmp_path):
    lake = EmbeddedLakehouse(str(tmp_path))
    lake.replace(
        _rows(spark, [MAY_1, MAY_2], 100, "first"), "bronze", "pings", {"dt": [MAY_1, MAY_2]}, ["dt"]
    )
    lake.replace(_rows(spark, [MAY_2, MAY_3], 40, "again"), "bronze", "pings", {"dt": [MAY_2, MAY_3]}, ["dt"])
    # a day re-run with no rows left is emptied, not kept
    lake.replace(_rows(spark, [], 0, "none"), "bronze", "pings", {"dt": MAY_3}, ["dt"])

    content = _content(lake.path("bronze", "pings"))
    by_day = {}
    for record_id, day in zip(content["record_id"].to_pylist(), content["dt"].to_pylist(), strict=True):
        by_day.setdefault(day, set()).add(record_id.split("-")[0])
    assert by_day == {MAY_1: {"first"}, MAY_2: {"again"}}
    assert content.num_rows == 100 + 40


def test_the_rows_a_partition_holds_are_read_off_the_log(spark, tmp_path):
    lake = EmbeddedLakehouse(str(tmp_path))
    # Files of Spark's tasks, several a day, and one delta-rs wrote from Arrow
    days = [MAY_1, MAY_2]
    lake.replace(_rows(spark, days, 100, "tasks"), "bronze", "pings", {"dt": days}, ["dt"])
    lake.append(_rows(spark, [MAY_2], 7, "arrow").toArrow(), "bronze", "pings", ["dt"])

    counted = lake.rows_per_partition(spark, "bronze", "pings", {"dt": [MAY_2, MAY_3]}, ["dt"])

    assert counted == {(str(MAY_2),): 107}
    assert lake.read(spark, "bronze", "pings", {"dt": [MAY_2]}).count() == 107
    assert lake.rows_per_partition(spark, "bronze", "absent", {"dt": [MAY_2]}, ["dt"]) == {}


def test_a_file_the_log_holds_no_row_count_for_is_not_counted_as_empty(spark, tmp_path):
    lake = EmbeddedLakehouse(str(tmp_path))
    lake.replace(_rows(spark, [MAY_1], 10, "counted"), "bronze", "pings", {"dt": [MAY_1]}, ["dt"])
    table = DeltaTable(lake.path("bronze", "pings"))
    [file] = pa.table(table.get_add_actions(flatten=True)).slice(0, 1).to_pylist()
    copy = file["path"].replace(".parquet", "-copy.parquet")
    shutil.copyfile(tmp_path / "bronze" / "pings" / file["path"], tmp_path / "bronze" / "pings" / copy)
    # A file committed by a writer that keeps no statistics
    added = AddAction(copy, file["size_bytes"], {"dt": str(MAY_1)}, file["modification_time"], True, None)
    schema = pa.schema(table.schema().to_arrow())
    table.create_write_transaction([added], mode="append", schema=schema, partition_by=["dt"])

    with pytest.raises(ValueError, match="no row count"):
        lake.rows_per_partition(spark, "bronze", "pings", {"dt": [MAY_1]}, ["dt"])


def test_rows_outside_the_partitions_replaced_are_refused_and_nothing_is_committed(spark, tmp_path):
    lake = EmbeddedLakehouse(str(tmp_path))
    lake.replace(_rows(spark, [MAY_1], 10, "kept"), "bronze", "pings", {"dt": [MAY_1]}, ["dt"])
    version = DeltaTable(lake.path("bronze", "pings")).version()

    with pytest.raises(RowsOutsidePartitionsError, match="2026-05-02"):
        lake.replace(_rows(spark, [MAY_1, MAY_2], 10, "stray"), "bronze", "pings", {"dt": [MAY_1]}, ["dt"])

    table = DeltaTable(lake.path("bronze", "pings"))
    assert table.version() == version
    assert set(_content(lake.path("bronze", "pings"))["record_id"].to_pylist()) == {
        f"kept-{MAY_1}-{i}" for i in range(10)
    }


def _sightings(spark, feed: str, day: date, count: int, tag: str):
    rows = [(feed, f"{tag}-{i}", f"{i:064x}", day) for i in range(count)]
    return spark.createDataFrame(rows, "feed string, record_id string, identifier_hmac string, dt date")


def test_a_replace_of_one_feeds_rows_keeps_the_other_feeds_rows_of_the_day(spark, tmp_path):
    # silver.identifiers: every feed's sightings of a day share its partition; a feed re-run replaces
    # its own, also out of a file compacted from several feeds' files.
    lake = EmbeddedLakehouse(str(tmp_path))
    for feed, count in (("orders", 30), ("pings", 20)):
        where = {"feed": feed, "dt": [MAY_1]}
        lake.replace(_sightings(spark, feed, MAY_1, count, "first"), "silver", "identifiers", where, ["dt"])
    DeltaTable(lake.path("silver", "identifiers")).optimize.compact()
    assert len(DeltaTable(lake.path("silver", "identifiers")).file_uris()) == 1

    where = {"feed": "orders", "dt": [MAY_1]}
    again = _sightings(spark, "orders", MAY_1, 5, "again")
    written = lake.replace(again, "silver", "identifiers", where, ["dt"])

    # the feed's rows are what it wrote: not the other feed's, which its compacted file kept
    assert written == {(str(MAY_1),): 5}

    content = _content(lake.path("silver", "identifiers"))
    held = sorted(zip(content["feed"].to_pylist(), content["record_id"].to_pylist(), strict=True))
    assert held == sorted(
        [("orders", f"again-{i}") for i in range(5)] + [("pings", f"first-{i}") for i in range(20)]
    )

    with pytest.raises(RowsOutsidePartitionsError):
        lake.replace(_sightings(spark, "pings", MAY_1, 3, "stray"), "silver", "identifiers", where, ["dt"])
    assert _content(lake.path("silver", "identifiers")).num_rows == 25
