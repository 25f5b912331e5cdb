"""Typing and checking delivered text against a contract: one reason per rejected record."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from pyspark.sql import functions as F

from databank.config import load_settings
from databank.contracts import DeliveryWindow, load_contract
from spark_jobs.transforms.parse import PARSE_ERROR, RAW
from spark_jobs.transforms.validate import LAST_LINE_CUT, REASON, REASON_COLUMN, type_and_check, typed_time

POS = load_contract("pos_transactions")
GOOD = {
    "receipt_line_id": "S01-1",
    "receipt_id": "S01",
    "store_id": "S01001",
    "line_no": "1",
    "line_type": "sale",
    "original_receipt_id": None,
    "sold_at": "2026-05-03 14:00:00",
    "sku": "SL0001",
    "product_name": "山岚冲锋衣",
    "quantity": "1",
    "unit_price": "599",
    "line_amount": "539.1",
    "payment_method": "alipay",
    "member_card_no": None,
    "phone": None,
    "payment_token": None,
}
EARLIEST = datetime(2000, 1, 1)
WINDOW = DeliveryWindow.for_day(
    date(2026, 5, 3), ZoneInfo("Asia/Shanghai"), late_days=3, tolerance_minutes=60
)


def _check(spark, cut_last_line: bool = False, **changes):
    record = GOOD | changes
    columns = [*POS.column_names, RAW, PARSE_ERROR, LAST_LINE_CUT]
    values = (*(record.get(c) for c in POS.column_names), "raw", record.get(PARSE_ERROR), cut_last_line)
    schema = ", ".join(f"`{c}` {'boolean' if c == LAST_LINE_CUT else 'string'}" for c in columns)
    frame = spark.createDataFrame([values], schema)
    return type_and_check(frame, POS, WINDOW, "Asia/Shanghai", EARLIEST).first()


def test_a_valid_line_is_typed_and_local_time_becomes_utc(spark):
    row = _check(spark)

    assert row[REASON] is None
    assert row["quantity"] == 1
    assert row["line_amount"] == pytest.approx(539.1)
    assert row["sold_at"] == datetime(2026, 5, 3, 6, 0, 0)  # 14:00 in Shanghai


@pytest.mark.parametrize(
    ("changes", "reason", "column"),
    [
        ({PARSE_ERROR: "malformed_row"}, "malformed_row", None),
        ({"sku": ""}, "missing_required", "sku"),
        ({"quantity": "两件"}, "bad_type", "quantity"),
        ({"unit_price": "1,5"}, "bad_type", "unit_price"),
        ({"sold_at": "2026-02-30 25:61:00"}, "bad_timestamp", "sold_at"),
        ({"sold_at": "1970-01-01 08:00:00"}, "bad_timestamp", "sold_at"),
        ({"sold_at": "2027-06-07 14:00:00"}, "future_timestamp", "sold_at"),
        ({"sold_at": "2026-04-20 14:00:00"}, "stale_timestamp", "sold_at"),
        ({"payment_method": "digital_rmb"}, "unknown_enum", "payment_method"),
        ({"quantity": "-2"}, "out_of_range", "quantity"),
    ],
)
def test_each_broken_rule_is_named_with_its_column(spark, changes, reason, column):
    row = _check(spark, **changes)

    assert (row[REASON], row[REASON_COLUMN]) == (reason, column)


def test_the_first_rule_broken_wins(spark):
    row = _check(spark, sku="", quantity="two")

    assert row[REASON] == "missing_required"


def test_a_late_event_within_the_allowed_days_is_accepted(spark):
    assert _check(spark, sold_at="2026-05-01 09:00:00")[REASON] is None


def test_a_cut_last_line_is_rejected_even_when_its_fields_parse(spark):
    assert _check(spark, cut_last_line=True)[REASON] == "truncated_line"


@pytest.mark.parametrize(
    "spelled",
    [
        "2026-05-03 14:00:00",
        "2026-05-03T14:00:00",
        "2026-05-03 14:00:00.000",
        "2026-05-03T06:00:00Z",
        "2026-05-03T14:00:00+08:00",
        "2026-05-03 14:00:00+0800",
        "2026-05-03T14:00:00.000+08",
        " 2026-05-03T14:00:00 +08:00 ",
    ],
)
def test_a_time_in_any_usual_spelling_is_the_same_instant(spark, spelled):
    row = _check(spark, sold_at=spelled)

    assert (row[REASON], row["sold_at"]) == (None, datetime(2026, 5, 3, 6, 0, 0))


def test_milliseconds_are_kept(spark):
    row = _check(spark, sold_at="2026-05-03 14:00:00.250")

    assert row["sold_at"] == datetime(2026, 5, 3, 6, 0, 0, 250000)


@pytest.mark.parametrize(
    ("zone_rule", "spelled", "expected"),
    [
        ("offset", "2026-05-03T14:00:00+0800", datetime(2026, 5, 3, 6, 0)),
        ("offset", "2026-05-03T14:00:00", None),  # an offset feed promises an offset
        ("utc", "2026-05-03 06:00:00.5", datetime(2026, 5, 3, 6, 0, 0, 500000)),
        ("local", "2026-05-03T14:00", None),
        ("local", "03/05/2026 14:00:00", None),
        # What a lenient reader would take, and the spelling does not allow.
        ("local", "2026-5-3 14:00:00", None),
        ("local", "2026-05-03 4:00:00", None),
        ("local", "2026-05-03t14:00:00", None),
        ("utc", "2026-05-03T06:00:00z", None),
        ("utc", "2026-05-03T14:00:00 GMT+8", None),
        ("offset", "2026-05-03T14:00:00+8:00", None),
        # Well spelled, but no instant: an impossible day or clock, an offset beyond 18 hours.
        ("local", "2026-02-30 14:00:00", None),
        ("local", "2026-05-03 24:00:00", None),
        ("offset", "2026-05-03T14:00:00+19:00", None),
        # A fraction finer than Spark's microseconds is cut; any offset spelling is the instant.
        ("utc", "2026-05-03 06:00:00.123456789", datetime(2026, 5, 3, 6, 0, 0, 123456)),
        ("local", "2026-05-03T01:30:00-0430", datetime(2026, 5, 3, 6, 0)),
        ("local", "2026-05-03 14:00:00     +08", datetime(2026, 5, 3, 6, 0)),
    ],
)
def test_typed_time_follows_the_zone_rule_and_rejects_what_it_cannot_read(
    spark, zone_rule, spelled, expected
):
    frame = spark.createDataFrame([(spelled,)], "t string")

    assert frame.select(typed_time(F.col("t"), zone_rule, "Asia/Shanghai")).first()[0] == expected


def test_the_floor_of_plausible_times_comes_from_the_settings(spark):
    no_floor = load_settings(ingest={"earliest_plausible_time": "none"}).ingest.earliest_plausible_time
    default_floor = load_settings().ingest.earliest_plausible_time
    record = GOOD | {"sold_at": "1999-12-31 14:00:00"}
    columns = [*POS.column_names, RAW, PARSE_ERROR, LAST_LINE_CUT]
    schema = ", ".join(f"`{c}` {'boolean' if c == LAST_LINE_CUT else 'string'}" for c in columns)
    frame = spark.createDataFrame([(*(record.get(c) for c in POS.column_names), "raw", None, False)], schema)

    unfloored = type_and_check(frame, POS, None, "Asia/Shanghai", no_floor)
    floored = type_and_check(frame, POS, None, "Asia/Shanghai", default_floor)

    assert no_floor is None
    assert unfloored.first()[REASON] is None
    assert (floored.first()[REASON], floored.first()[REASON_COLUMN]) == ("bad_timestamp", "sold_at")
