"""Lines into contract columns: nothing dropped, malformed lines named, identifiers redacted in raw text."""

import pytest
from pyspark.sql import functions as F

from databank.contracts import load_contract
from spark_jobs.transforms.identifiers import redacted
from spark_jobs.transforms.parse import PARSE_ERROR, UNREAD_KEYS, parse_csv_lines, parse_json_lines

ORDERS = load_contract("online_orders")
POS = load_contract("pos_transactions")
LINE = "L1,R1,S1,1,sale,,2026-05-03 14:00:00,SL1,冲锋衣,1,599,599,cash,,,"
LINE_FIELDS = LINE.split(",")


def test_json_lines_parse_by_name_and_broken_lines_are_kept_with_a_reason(spark):
    lines = spark.createDataFrame(
        [('{"order_line_id":"O1-1","quantity":2,"unit_price":59.9}',), ('{"order_line_id":"O2-1","quant',)],
        "value string",
    )

    rows = {r["_raw"]: r for r in parse_json_lines(lines, ORDERS).collect()}

    good, broken = (
        rows['{"order_line_id":"O1-1","quantity":2,"unit_price":59.9}'],
        rows['{"order_line_id":"O2-1","quant'],
    )
    assert (good["order_line_id"], good["quantity"], good["unit_price"], good[PARSE_ERROR]) == (
        "O1-1",
        "2",
        "59.9",
        None,
    )
    assert broken[PARSE_ERROR] == "malformed_json"


def test_csv_commas_inside_quotes_do_not_count_as_fields(spark):
    header = ",".join(POS.column_names)
    quoted = 'L1,R1,S1,1,sale,,2026-05-03 14:00:00,SL1,"冲锋衣, 升级款",1,599,599,cash,,,'
    short = "L2,R2,S1,1,sale,,2026-05-03 14:00:00,SL1,冲锋衣,1,599,599,cash,,"
    lines = spark.createDataFrame([(header,), (quoted,), (short,)], "value string")

    rows = {r["receipt_line_id"] or "short": r for r in parse_csv_lines(lines, POS, header).collect()}

    assert len(rows) == 2  # the header is not a record
    assert rows["L1"]["product_name"] == "冲锋衣, 升级款"
    assert rows["L1"][PARSE_ERROR] is None
    assert rows["short"][PARSE_ERROR] == "malformed_row"


@pytest.mark.parametrize(
    "secret",
    [
        "+86 138 1234 5678",
        "13812345678",
        "3d1a3429-749c-013a-3616-34b545a67a46",
        "tok_7cff16d062cf4551",
        "oAbCdEfGhIjKlMnOpQrStUvWxYz01",
    ],
)
def test_redaction_masks_identifier_like_values(spark, secret):
    line = f'{{"event_type":"page_view","value":"{secret}"}}'

    out = spark.createDataFrame([(line,)], "v string").select(redacted(F.col("v"))).first()[0]

    assert secret not in out
    assert '"event_type":"page_view"' in out


def test_csv_columns_are_read_by_the_files_own_header_and_quoted_line_breaks_come_back(spark):
    columns = [*reversed(POS.column_names), "cashier_note"]
    header = ",".join(columns)
    values = dict(zip(POS.column_names, LINE_FIELDS, strict=True)) | {"payment_token": '"tok""1\ue0002"'}
    line = ",".join([*(values[c] for c in reversed(POS.column_names)), "note"])
    lines = spark.createDataFrame([(header,), (line,), (header,)], "value string")

    rows = parse_csv_lines(lines, POS, header, columns).collect()

    assert len(rows) == 1  # the header, repeated or not, is no record
    assert (rows[0]["receipt_line_id"], rows[0]["payment_token"]) == ("L1", 'tok"1\n2')
    assert rows[0]["_raw"] == line.replace("\ue000", "\n")
    assert rows[0][PARSE_ERROR] is None


def test_json_keys_the_contract_does_not_know_are_listed(spark):
    lines = spark.createDataFrame([('{"ORDER_LINE_ID":"O1-1","quantity":2}',)], "value string")

    row = parse_json_lines(lines, ORDERS).first()

    assert (row["order_line_id"], row["quantity"], row[PARSE_ERROR]) == (None, "2", None)
    assert row[UNREAD_KEYS] == ["ORDER_LINE_ID"]
