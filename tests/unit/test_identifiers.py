"""Pseudonymisation: spellings of one identifier hash alike, placeholders are flagged, the HMAC is real."""

import hashlib
import hmac

import pytest
from pyspark.sql import functions as F

from databank.contracts import load_contract
from databank.privacy.erasure import command_node, suppression_token
from spark_jobs.transforms.identifiers import hmac_sha256, normalised, pseudonymise, status
from spark_jobs.transforms.privacy import is_suppressed

KEY = b"unit-test-key"


def _one(spark, column, value: str | None, schema="v string"):
    return spark.createDataFrame([(value,)], schema).select(column.alias("out")).first()["out"]


@pytest.mark.parametrize("key", [KEY, b"k" * 100])
def test_hmac_matches_the_standard_library(spark, key):
    expected = hmac.new(key, b"13812345678", hashlib.sha256).hexdigest()

    assert _one(spark, hmac_sha256(F.col("v"), key), "13812345678") == expected


def test_hmac_of_chinese_text_hashes_its_utf8_bytes(spark):
    expected = hmac.new(KEY, "会员".encode(), hashlib.sha256).hexdigest()

    assert _one(spark, hmac_sha256(F.col("v"), KEY), "会员") == expected


@pytest.mark.parametrize(
    "spelling",
    [
        "13812345678",
        "+86 138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        " 13812345678 ",
        "008613812345678",
    ],
)
def test_every_spelling_of_a_mobile_normalises_to_its_eleven_digits(spark, spelling):
    assert _one(spark, normalised(F.col("v"), "phone"), spelling) == "13812345678"


@pytest.mark.parametrize(
    ("identifier_type", "value", "expected"),
    [
        ("member_id", " sl 0001 2345 ", "SL00012345"),
        ("device_id", " 3D1A3429-749C-013A-3616-34B545A67A46", "3d1a3429-749c-013a-3616-34b545a67a46"),
        ("cookie_id", "ABCdef0123456789 ", "abcdef0123456789"),
        ("payment_token", " tok_AbC123456 ", "tok_AbC123456"),
    ],
)
def test_ids_lose_case_and_white_space_where_their_type_ignores_them(spark, identifier_type, value, expected):
    assert _one(spark, normalised(F.col("v"), identifier_type), value) == expected


def test_accounts_keep_case_and_are_scoped_by_platform(spark):
    frame = spark.createDataFrame([("oAbC123", "WeChat")], "v string, p string")

    value = frame.select(normalised(F.col("v"), "account_id", F.col("p"))).first()[0]

    assert value == "wechat:oAbC123"


@pytest.mark.parametrize(
    ("identifier_type", "value", "expected"),
    [
        ("phone", "13800000000", "junk"),
        ("phone", "11111111111", "junk"),
        ("phone", "12345", "invalid"),
        ("phone", "13812345678", "ok"),
        ("device_id", "00000000-0000-0000-0000-000000000000", "junk"),
        ("device_id", "not-a-device", "invalid"),
    ],
)
def test_status_flags_placeholders_and_malformed_values(spark, identifier_type, value, expected):
    junk = {"phone": ["13800000000"], "device_id": ["00000000-0000-0000-0000-000000000000"]}

    assert _one(spark, status(F.col("v"), identifier_type, junk[identifier_type]), value) == expected


def test_pseudonymise_replaces_raw_values_and_types_erasure_rows_by_their_own_column(spark):
    contract = load_contract("erasure_requests")
    rows = [
        ("R1", "2026-05-04 10:00:00", "phone", "+86 138-1234-5678"),
        ("R2", "2026-05-04 11:00:00", "member_id", "sl00012345"),
    ]
    frame = spark.createDataFrame(
        rows, "request_id string, requested_at string, identifier_type string, identifier_value string"
    )

    out = {r["request_id"]: r for r in pseudonymise(frame, contract, KEY, {}).collect()}

    assert out["R1"]["identifier_value"] == hmac.new(KEY, b"13812345678", hashlib.sha256).hexdigest()
    assert out["R2"]["identifier_value"] == hmac.new(KEY, b"SL00012345", hashlib.sha256).hexdigest()
    assert {r["identifier_value_status"] for r in out.values()} == {"ok"}


def test_a_phone_or_id_typed_into_a_free_text_field_is_masked_and_the_rest_kept(spark):
    contract = load_contract("online_events")
    typed = ["口红 call 138 1234 5678", "member SL00012345 lipstick", "YSL 520 lipstick", None]
    frame = spark.createDataFrame([(t,) for t in typed], "search_keyword string")
    frame = frame.select(
        *(F.lit(None).cast("string").alias(c) for c in ("account_id", "device_id", "cookie_id")), "*"
    )
    frame = frame.withColumn("platform", F.lit("tmall"))

    out = [r["search_keyword"] for r in pseudonymise(frame, contract, KEY, {}).collect()]

    assert out == ["口红 call <redacted>", "member SL<redacted> lipstick", "YSL 520 lipstick", None]


@pytest.mark.parametrize(
    ("identifier_type", "typed"),
    [("phone", "+86 138-1234-5678"), ("phone", "008613812345678"), ("member_id", " m 12ab34\t")],
)
def test_an_erasure_typed_at_the_command_line_hashes_as_ingestion_does(spark, identifier_type, typed):
    pipeline = _one(spark, hmac_sha256(normalised(F.col("v"), identifier_type), KEY), typed)

    assert command_node(identifier_type, typed, KEY) == f"{identifier_type}:{pipeline}"


def test_records_of_someone_erased_are_flagged_by_any_of_their_identifiers(spark):
    contract = load_contract("members")
    erased = "phone:" + "aa" * 32
    records = spark.createDataFrame(
        [("M1", "aa" * 32, "x" * 64), ("M2", "bb" * 32, "y" * 64), ("M3", None, None)],
        "member_record_id string, phone string, member_id string",
    )

    flagged = records.select(
        "member_record_id", is_suppressed(contract, [suppression_token(erased)]).alias("s")
    )

    assert {row["member_record_id"]: row["s"] for row in flagged.collect()} == {
        "M1": True,
        "M2": False,
        "M3": False,
    }
