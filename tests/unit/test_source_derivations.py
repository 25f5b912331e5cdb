"""A source with whitespace-separated fields, no record id and no unit price (an old report export):
its records counted alike by Python and Spark, ids derived from the record that are stable across
deliveries and distinct for identical lines, and a unit price divided from the line's amount."""

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cd_report import CD_REPORT
from pydantic import ValidationError

from databank.contracts import DeliveryWindow, load_contract
from databank.delivered_text import WHITESPACE_SEPARATED, header_fields, text_records
from databank.landing import list_delivered
from databank.sources import SourceMapping
from spark_jobs.read_delivery import decide, read_raw
from spark_jobs.transforms.validate import REASON, REASON_COLUMN, type_and_check

ORDERS = load_contract("online_orders")
DAY = date(1997, 1, 12)
TZ = "America/New_York"
# The report's amounts in cents: a quotient is taken after the scale.
REPORT = {
    **CD_REPORT,
    "files": "cd_report*.txt",
    "columns": {"customer": "account_id", "day": "transacted_at", "cds": "quantity", "cents": "line_amount"},
    "scale": {"line_amount": 0.01},
}
HEADER = " customer  day \tcds   cents"
LINES = [
    " 00001 19970112  2   1554",
    " 00002 19970112  1   999",
    " 00002 19970112  1   999",  # the same purchase twice on a day: two records, not one
    "00003\t19970112 0 500  ",
    " 00004 19970112  1   999 extra",
]


def _report(**change) -> SourceMapping:
    return SourceMapping.model_validate(REPORT | change)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"csv": {"separator": "whitespace", "quote": "'"}}, "never quoted"),
        ({"csv": {"separator": "||"}}, "one character or `whitespace`"),
        (
            {"derived": {"order_line_id": {"divide": ["line_amount", "quantity"]}}},
            "a quotient fills an amount",
        ),
        ({"derived": {"unit_price": {"hash_of": "record"}}}, "a hash fills an id"),
        ({"derived": {"unit_price": {"divide": ["line_amount", "sku"]}}}, "sku, which is no number column"),
        ({"derived": {"unit_price": {"divide": ["line_amount", "cds"]}}}, "no columns of the online_orders"),
        ({"derived": {"account_id": {"hash_of": "record"}}}, "also read from the source or constants"),
        ({"derived": {"unit_price": {"hash_of": "record", "divide": ["a", "b"]}}}, "exactly one of"),
        ({"derived": {"order_id": {"hash_of": "line"}}}, "Input should be 'record'"),
    ],
)
def test_a_derivation_or_separator_that_does_not_fit_fails_when_the_mapping_loads(change, complaint):
    with pytest.raises(ValidationError, match=complaint):
        _report(**change)


def test_whitespace_separated_records_are_lines_split_at_runs_of_blanks():
    text = "\r\n".join([HEADER, *LINES, "   ", ""])

    found = text_records(text, "csv", dialect=WHITESPACE_SEPARATED)

    assert found.records == [HEADER, *LINES]  # a line of blanks is no record; quotes mean nothing
    assert header_fields(HEADER, WHITESPACE_SEPARATED) == ["customer", "day", "cds", "cents"]
    assert header_fields('"a b" c', WHITESPACE_SEPARATED) == ['"a', 'b"', "c"]


def _judged(spark, tmp_path: Path, day: date, text: str, key: bytes = b"k") -> list[dict]:
    landing = tmp_path / "landing"
    folder = landing / "online_orders" / f"dt={day}"
    folder.mkdir(parents=True)
    (folder / "cd_report.txt").write_bytes(text.encode())
    delivered = list_delivered(landing, ORDERS, day, (_report(),))
    raw = read_raw(spark, ORDERS, decide(delivered, {}, landing, day), tmp_path / "staging", key)
    window = DeliveryWindow.for_day(day, ZoneInfo(TZ), 3, 60)
    checked = type_and_check(raw, ORDERS, window, TZ, None)
    return [row.asDict() for row in checked.collect()]


def test_a_whitespace_source_gets_record_ids_and_unit_prices_and_is_counted_as_spark_reads_it(
    spark, tmp_path
):
    text = "\r\n".join([HEADER, *LINES, ""])

    rows = _judged(spark, tmp_path / "first", DAY, text)
    again = _judged(spark, tmp_path / "again", DAY, text)
    other_key = _judged(spark, tmp_path / "other_key", DAY, text, key=b"another key")
    (delivered,) = list_delivered(tmp_path / "first" / "landing", ORDERS, DAY, (_report(),))

    assert delivered.rows == len(rows) == len(LINES)
    valid = [r for r in rows if r[REASON] is None]
    assert len(valid) == 3
    one = next(r for r in valid if r["quantity"] == 2)
    assert (one["line_amount"], one["unit_price"], one["sku"], one["line_no"]) == (15.54, 7.77, "cd", 1)
    assert one["transacted_at"] == datetime(1997, 1, 12, 5, 0)  # the day's midnight in New York, in UTC
    ids = [r["order_line_id"] for r in valid]
    assert len(set(ids)) == 3  # the two identical lines are two records
    assert all(r["order_id"] == r["order_line_id"] and len(r["order_line_id"]) == 64 for r in valid)
    assert sorted(r["order_line_id"] for r in again if r[REASON] is None) == sorted(ids)
    assert not set(ids) & {r["order_line_id"] for r in other_key}  # keyed: no id without the key
    quarantined = {r[REASON_COLUMN]: r for r in rows if r[REASON] is not None}
    assert set(quarantined) == {"unit_price", None}  # zero CDs; five fields where four are named
    assert quarantined[None][REASON] == "malformed_row"
    assert quarantined["unit_price"][REASON] == "bad_type"  # a zero divisor gives no price, never 0
