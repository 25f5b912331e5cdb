"""What ingestion writes of checked records: bronze names hashed identifiers, quarantine keeps why."""

from datetime import date, datetime

from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from databank.contracts import load_contract
from spark_jobs.transforms.records import to_bronze, to_quarantine

META = {"batch": "b1", "at": datetime(2026, 5, 2, 1, 0), "dt": date(2026, 5, 1)}


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
        }
    )

    bronze = checked.transform(to_bronze, contract, META)

    assert bronze.columns[:4] == ["member_record_id", "member_id_hmac", "brand_id", "phone_hmac"]
    row = bronze.first()
    assert (row["member_id_hmac"], row["ingest_source_file"], row["dt"]) == (
        "h-member",
        "f",
        date(2026, 5, 1),
    )


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
    ).withColumns({"_source_file": F.lit("f"), "_source_checksum": F.lit("c")})

    quarantine = checked.transform(to_quarantine, contract, META).select("record_id", "reason", "raw_text")

    expected = spark.createDataFrame(
        [
            ("ER-1", "bad_timestamp", '{"request_id":"ER-1"}'),
            ("ER-2", "malformed_csv", "ER-2,call <redacted>"),
        ],
        "record_id string, reason string, raw_text string",
    )
    assertDataFrameEqual(quarantine, expected)
