"""What ingestion writes of checked records: bronze names hashed identifiers, quarantine keeps why."""

from datetime import date, datetime

from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from databank.contracts import load_contract
from spark_jobs.transforms.privacy import vault_entries
from spark_jobs.transforms.records import destined, sorted_records

META = {"feed": "members", "token": "t1", "at": datetime(2026, 5, 2, 1, 0), "dt": date(2026, 5, 1)}
DELIVERED_ON = date(2026, 5, 2)  # the day of the folder the record's file is in
# What type_and_check adds to a record; null for one that breaks no rule.
CHECK_COLUMNS = ("_reason", "_reason_column", "_record_text", "_raw")


def _destined(checked, contract, fate: str):
    """The rows `sorted_records` writes to `fate` (bronze or quarantine), as their own DataFrame."""
    records = checked.transform(sorted_records, contract, F.lit(False), None)
    return destined(records, fate, META)


def test_a_valid_member_record_goes_to_bronze_with_its_identifiers_named_as_hashes(spark):
    contract = load_contract("members")
    row = ("R1", "h-member", "B1", "h-phone", date(2026, 1, 1), "active", True, False, None)
    checked = spark.createDataFrame(
        [row],
        "member_record_id string, member_id string, brand_id string, phone string, joined_on date, "
        "status string, consent_marketing boolean, consent_ad_targeting boolean, updated_at timestamp",
    ).withColumns(
        {
            "member_id_status": F.lit("ok"),
            "phone_status": F.lit("ok"),
            "_source_file": F.lit("f"),
            "_source_checksum": F.lit("c"),
            "_delivery_day": F.lit(DELIVERED_ON),
            **{name: F.lit(None).cast("string") for name in CHECK_COLUMNS},
        }
    )

    bronze = _destined(checked, contract, "bronze")

    assert bronze.columns[:4] == ["member_record_id", "member_id_hmac", "brand_id", "phone_hmac"]
    row = bronze.first()
    assert (row["member_id_hmac"], row["ingest_source_file"], row["dt"]) == (
        "h-member",
        "f",
        date(2026, 5, 2),
    )
    assert row["ingest_batch_id"] == "members-2026-05-02-t1"


def test_a_rejected_record_keeps_its_hashed_text_and_a_line_that_did_not_parse_is_masked(spark):
    contract = load_contract("erasure_requests")
    checked = spark.createDataFrame(
        [
            (
                "ER-1",
                None,
                "phone",
                "h-phone",
                "bad_timestamp",
                "requested_at",
                '{"request_id":"ER-1"}',
                None,
            ),
            (None, None, None, None, "malformed_csv", None, None, "ER-2,call 13812345678"),
        ],
        "request_id string, requested_at timestamp, identifier_type string, identifier_value string, "
        "_reason string, _reason_column string, _record_text string, _raw string",
    ).withColumns(
        {"_source_file": F.lit("f"), "_source_checksum": F.lit("c"), "_delivery_day": F.lit(DELIVERED_ON)}
    )

    quarantine = _destined(checked, contract, "quarantine").select("record_id", "reason", "raw_text")

    expected = spark.createDataFrame(
        [
            ("ER-1", "bad_timestamp", '{"request_id":"ER-1"}'),
            ("ER-2", "malformed_csv", "ER-2,call <redacted>"),
        ],
        "record_id string, reason string, raw_text string",
    )
    assertDataFrameEqual(quarantine, expected)


def test_each_record_is_sorted_once_with_what_its_fate_needs_and_the_suppressed_carry_nothing(spark):
    contract = load_contract("members")
    checked = spark.createDataFrame(
        [
            ("R1", "h-m1", "B1", "h-p1", "13800000001", None, None, [], "f1"),
            (
                "R2",
                "h-m2",
                "B1",
                None,
                None,
                "missing_required",
                "ER 13800000002",
                ["phone_13800000002"],
                "f2",
            ),
            ("R3", "h-m3", "B1", "h-p3", "13800000003", None, None, None, "f2"),
        ],
        "member_record_id string, member_id string, brand_id string, phone string, "
        "_normalised_phone string, _reason string, _raw string, _unread_keys array<string>, "
        "_source_file string",
    ).withColumns(
        {
            "joined_on": F.lit(None).cast("date"),
            "status": F.lit("active"),
            "consent_marketing": F.lit(True),
            "consent_ad_targeting": F.lit(False),
            "updated_at": F.lit(None).cast("timestamp"),
            "_reason_column": F.lit(None).cast("string"),
            "_record_text": F.lit(None).cast("string"),
            "_source_checksum": F.lit("c"),
            "_delivery_day": F.lit(DELIVERED_ON),
        }
    )
    suppressed = F.col("member_record_id") == "R3"

    rows = {
        r["member_record_id"]: r
        for r in checked.transform(
            sorted_records, contract, suppressed, vault_entries(checked.columns, contract)
        )
        .select("*", F.col("bronze.member_record_id").alias("member_record_id"))
        .collect()
    }

    assert {k: r["fate"] for k, r in rows.items()} == {"R1": "bronze", "R2": "quarantine", "R3": "suppressed"}
    assert rows["R1"]["bronze"]["phone_hmac"] == "h-p1"
    assert rows["R1"]["quarantine"]["raw_text"] is None  # only a rejected line is masked
    assert rows["R2"]["quarantine"]["raw_text"] == "ER <redacted>"
    assert [e.asDict() for e in rows["R1"]["vault"]] == [
        {"identifier_type": "phone", "identifier_hmac": "h-p1", "value": "13800000001"}
    ]
    assert rows["R2"]["vault"] is None  # only bronze records are vaulted
    assert rows["R3"]["vault"] is None
    assert rows["R2"]["unread_keys"] == ["phone_<redacted>"]
