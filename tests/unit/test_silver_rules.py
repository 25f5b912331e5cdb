"""Silver rules on tiny rows: local dates, one row per record, refunds and returns linked."""

from datetime import date, datetime

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


def test_a_record_delivered_twice_today_or_already_on_an_earlier_day_is_kept_once(spark):
    today = spark.createDataFrame(
        [("E1", "b.jsonl"), ("E1", "a.jsonl"), ("E2", "a.jsonl"), ("E3", "a.jsonl")],
        "event_id string, ingest_source_file string",
    )
    earlier = spark.createDataFrame([("E3",)], "event_id string")

    out = first_delivery(today, "event_id", earlier)

    assertDataFrameEqual(out, [("E1", "a.jsonl"), ("E2", "a.jsonl")])


def test_refunds_point_to_their_order_when_the_sale_is_known(spark):
    today = spark.createDataFrame(
        [("R1-1", "R1", "refund", "O1-1"), ("R2-1", "R2", "refund", "O9-1"), ("O2-1", "O2", "sale", None)],
        "order_line_id string, order_id string, order_type string, refund_of_line_id string",
    )
    earlier = spark.createDataFrame([("O1-1", "O1")], "order_line_id string, order_id string")

    out = {r["order_line_id"]: r for r in link_online_refunds(today, earlier).collect()}

    assert (out["R1-1"]["refunded_order_id"], out["R1-1"]["is_refund_linked"]) == ("O1", True)
    assert (out["R2-1"]["refunded_order_id"], out["R2-1"]["is_refund_linked"]) == (None, False)
    assert out["O2-1"]["is_refund_linked"] is None


def test_pos_returns_point_to_the_sold_line_of_the_same_product(spark):
    today = spark.createDataFrame(
        [("T1-1", "T1", "return", "S1", "SKU2")],
        "receipt_line_id string, receipt_id string, line_type string, original_receipt_id string, sku string",
    )
    earlier = spark.createDataFrame(
        [("S1-1", "S1", "SKU1"), ("S1-2", "S1", "SKU2")],
        "receipt_line_id string, receipt_id string, sku string",
    )

    out = link_pos_returns(today, earlier).first()

    assert (out["returned_line_id"], out["is_return_linked"]) == ("S1-2", True)
