"""Silver rules on tiny rows: local dates, one row per record, refunds and returns linked."""

import random
from datetime import date, datetime, timedelta

import pytest
from pyspark.testing import assertDataFrameEqual

from databank.contracts import load_contract
from spark_jobs.transforms.standardise import canonical, first_delivery, link_online_refunds, link_pos_returns


def test_local_date_is_the_shanghai_day_of_the_utc_time(spark):
    bronze = spark.createDataFrame(
        [("E1", datetime(2026, 5, 1, 15, 59, 59)), ("E2", datetime(2026, 5, 1, 16, 0, 0))],
        "event_id string, event_at timestamp",
    )

    out = canonical(bronze, load_contract("online_events"), "Asia/Shanghai")

    assert {r["event_id"]: r["event_date"] for r in out.collect()} == {
        "E1": date(2026, 5, 1),
        "E2": date(2026, 5, 2),
    }


D1, D2 = date(2026, 5, 1), date(2026, 5, 2)


def test_a_record_delivered_twice_today_or_already_on_an_earlier_day_is_kept_once(spark):
    today = spark.createDataFrame(
        [("E1", "b.jsonl", D2), ("E1", "a.jsonl", D2), ("E2", "a.jsonl", D2), ("E3", "a.jsonl", D2)],
        "event_id string, ingest_source_file string, dt date",
    )
    # E9 was kept earlier but is not delivered today: it decides nothing, and is not read further
    earlier = spark.createDataFrame([("E3", D1), ("E9", D1)], "event_id string, dt date")

    out = first_delivery(today, "event_id", earlier, lookback_days=7)

    assertDataFrameEqual(out, [("E1", "a.jsonl", D2), ("E2", "a.jsonl", D2)])


def test_over_a_range_a_record_is_kept_as_its_nights_would_keep_it(spark):
    """Delivered on days 1, 5 and 9 with a 7-day lookback: night 5 drops it (kept on day 1), night 9
    keeps it again (day 1 is out of reach, and day 5's copy never reached silver)."""
    days = [date(2026, 5, d) for d in (1, 5, 9)]
    rows = spark.createDataFrame(
        [("E1", "a.jsonl", d) for d in days] + [("E2", "a.jsonl", days[1]), ("E3", "a.jsonl", days[0])],
        "event_id string, ingest_source_file string, dt date",
    )
    earlier = spark.createDataFrame([("E3", date(2026, 4, 28))], "event_id string, dt date")

    out = first_delivery(rows, "event_id", earlier, lookback_days=7)

    assert sorted((r["event_id"], r["dt"].day) for r in out.collect()) == [("E1", 1), ("E1", 9), ("E2", 5)]
    without_lookback = first_delivery(rows, "event_id", None, lookback_days=0)
    assert without_lookback.count() == 5


@pytest.mark.parametrize("lookback_days", [1, 3, 7])
def test_random_deliveries_are_kept_as_night_after_night_would_keep_them(spark, lookback_days):
    """Records delivered on random days of a range, some of them already in silver, against the rule
    applied delivery by delivery in day order."""
    rng = random.Random(lookback_days)
    first_day = date(2026, 5, 10)
    rows, earlier = [], []
    for record in (f"E{n}" for n in range(60)):
        for day in rng.sample(range(12), rng.randrange(1, 4)):
            files = rng.sample("abc", rng.randrange(1, 3))  # delivered once or twice that day
            rows += [(record, f"{file}.jsonl", first_day + timedelta(days=day)) for file in files]
        if rng.random() < 0.3:  # kept on an earlier night
            earlier.append((record, first_day - timedelta(days=rng.randrange(1, 8))))
    frame = spark.createDataFrame(rows, "event_id string, ingest_source_file string, dt date")
    in_silver = spark.createDataFrame(earlier, "event_id string, dt date")

    out = first_delivery(frame, "event_id", in_silver, lookback_days)

    assert sorted(tuple(r) for r in out.collect()) == _kept_night_by_night(rows, earlier, lookback_days)


def _kept_night_by_night(rows, earlier, lookback_days):
    kept = []
    for record in {r[0] for r in rows}:
        deliveries = sorted(
            {(r[2], False) for r in rows if r[0] == record} | {(d, True) for e, d in earlier if e == record}
        )
        last = None
        for day, in_silver in deliveries:
            if in_silver or last is None or (day - last).days > lookback_days:
                last = day
                if not in_silver:
                    first_file = min(r[1] for r in rows if r[0] == record and r[2] == day)
                    kept.append((record, first_file, day))
    return sorted(kept)


def test_refunds_point_to_their_order_when_the_sale_is_known(spark):
    today = spark.createDataFrame(
        [
            ("R1-1", "R1", "refund", "O1-1", D2),
            ("R2-1", "R2", "refund", "O9-1", D2),
            ("O2-1", "O2", "sale", None, D2),
        ],
        "order_line_id string, order_id string, order_type string, refund_of_line_id string, dt date",
    )
    earlier = spark.createDataFrame([("O1-1", "O1", D1)], "order_line_id string, order_id string, dt date")

    out = {r["order_line_id"]: r for r in link_online_refunds(today, earlier, 30).collect()}

    assert (out["R1-1"]["refunded_order_id"], out["R1-1"]["is_refund_linked"]) == ("O1", True)
    assert (out["R2-1"]["refunded_order_id"], out["R2-1"]["is_refund_linked"]) == (None, False)
    assert out["O2-1"]["is_refund_linked"] is None


def test_over_a_range_a_refund_finds_only_sales_of_its_own_lookback(spark):
    """A refund delivered on day 3 cannot undo a sale delivered on day 4, nor one older than the
    lookback: as night 3 would have found, with silver holding days 1 and 2 only."""
    rows = spark.createDataFrame(
        [
            ("O1-1", "O1", "sale", None, date(2026, 5, 1)),
            ("R1-1", "R1", "refund", "O1-1", date(2026, 5, 3)),
            ("R2-1", "R2", "refund", "O2-1", date(2026, 5, 3)),
            ("O2-1", "O2", "sale", None, date(2026, 5, 4)),
            ("R3-1", "R3", "refund", "O1-1", date(2026, 5, 9)),
        ],
        "order_line_id string, order_id string, order_type string, refund_of_line_id string, dt date",
    )

    out = {r["order_line_id"]: r["is_refund_linked"] for r in link_online_refunds(rows, None, 5).collect()}

    assert out == {"O1-1": None, "R1-1": True, "R2-1": False, "O2-1": None, "R3-1": False}


def test_pos_returns_point_to_the_sold_line_of_the_same_product(spark):
    today = spark.createDataFrame(
        [("T1-1", "T1", "return", "S1", "SKU2", D2)],
        "receipt_line_id string, receipt_id string, line_type string, original_receipt_id string, sku string,"
        " dt date",
    )
    earlier = spark.createDataFrame(
        [("S1-1", "S1", "SKU1", D1), ("S1-3", "S1", "SKU2", D1), ("S1-2", "S1", "SKU2", D1)],
        "receipt_line_id string, receipt_id string, sku string, dt date",
    )

    out = link_pos_returns(today, earlier, 30).first()

    assert (out["returned_line_id"], out["is_return_linked"]) == ("S1-2", True)
