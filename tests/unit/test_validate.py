"""Typing and checking delivered text against a contract: one reason per rejected record."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from databank.contracts import DeliveryWindow, load_contract
from spark_jobs.transforms.parse import PARSE_ERROR, RAW
from spark_jobs.transforms.validate import LAST_LINE_CUT, REASON, REASON_COLUMN, type_and_check

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
WINDOW = DeliveryWindow.for_day(
    date(2026, 5, 3), ZoneInfo("Asia/Shanghai"), late_days=3, tolerance_minutes=60
)


def _check(spark, cut_last_line: bool = False, **changes):
    record = GOOD | changes
    columns = [*POS.column_names, RAW, PARSE_ERROR, LAST_LINE_CUT]
    values = (*(record.get(c) for c in POS.column_names), "raw", record.get(PARSE_ERROR), cut_last_line)
    schema = ", ".join(f"`{c}` {'boolean' if c == LAST_LINE_CUT else 'string'}" for c in columns)
    return type_and_check(spark.createDataFrame([values], schema), POS, WINDOW, "Asia/Shanghai").first()


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
