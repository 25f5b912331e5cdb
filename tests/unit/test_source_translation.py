"""A mapped source's files read and translated into the contract's spelling, then judged by the
contract like any delivery: what a rule translates is valid, what it cannot is quarantined with the
contract's reason and the value as the source sent it."""

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from databank.contracts import DeliveryWindow, load_contract
from databank.landing import list_delivered
from databank.sources import SourceMapping
from spark_jobs.read_delivery import decide, read_raw
from spark_jobs.transforms.validate import REASON, REASON_COLUMN, type_and_check

ORDERS = load_contract("online_orders")
DAY = date(2026, 5, 3)
TZ = "Asia/Shanghai"
WINDOW = DeliveryWindow.for_day(DAY, ZoneInfo(TZ), 3, 60)
CSV_SOURCE = SourceMapping.model_validate(
    {
        "source": "shop_export",
        "feed": "online_orders",
        "files": "shop_*.csv",
        "csv": {"separator": "|"},
        "columns": {
            "LineID": "order_line_id",
            "Kind": "order_type",
            "PaidAt": "transacted_at",
            "AmountCents": "line_amount",
            "PriceCents": "unit_price",
            "Buyer": "account_id",
        },
        "values": {"order_type": {"map": {"销售": "sale", "退款": "refund"}, "unknown": "quarantine"}},
        "times": {"transacted_at": {"format": "yyyy/MM/dd HH:mm:ss", "zone": TZ}},
        "scale": {"unit_price": 0.01, "line_amount": 0.01},
        "constants": {"platform": "website"},
    }
)
JSON_SOURCE = SourceMapping.model_validate(
    {
        "source": "app_orders",
        "feed": "online_orders",
        "files": "app_*.json",
        "key_case": "upper",
        "values": {
            "platform": {"map": {"天猫": "tmall"}},
            "order_type": {"map": {"S": "sale", "R": "refund"}, "unknown": "default", "default": "sale"},
        },
        "times": {"transacted_at": {"epoch": "milliseconds"}},
    }
)
PARQUET_SOURCE = SourceMapping.model_validate(
    {
        "source": "warehouse_dump",
        "feed": "online_orders",
        "files": "*.parquet",
        "columns": {"id": "order_line_id", "amount": "line_amount"},
        "constants": {"platform": "taobao"},  # any platform the brand sells on, not only the generator's
    }
)
CSV_HEADER = "LineID|order_id|line_no|Kind|PaidAt|sku|quantity|PriceCents|AmountCents|Buyer"


def _judged(spark, tmp_path: Path, files: dict[str, bytes]) -> dict[str, dict]:
    landing = tmp_path / "landing"
    folder = landing / "online_orders" / f"dt={DAY}"
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    sources = (JSON_SOURCE, PARQUET_SOURCE, CSV_SOURCE)
    decisions = decide(list_delivered(landing, ORDERS, DAY, sources), {}, landing)
    raw = read_raw(spark, ORDERS, decisions, tmp_path / "staging")
    checked = type_and_check(raw, ORDERS, WINDOW, TZ, datetime(2000, 1, 1))
    return {row["order_line_id"]: row.asDict() for row in checked.collect()}


def test_a_csv_source_in_its_own_dialect_names_and_spellings_becomes_contract_rows(spark, tmp_path):
    lines = [
        "L1|O1|1|销售|2026/05/03 10:00:00|SKU1|2|29950|59900|B1",
        "L2|O1|2|赠品|2026/05/03 10:00:00|SKU2|1|0|0|B1",
        "L3|O2|1|退款|yesterday|SKU1|1|29950|29950|B2",
        "L4|O3|1|销售|2026/05/03 11:30:00|SKU1|1|29950|12a|B3",
    ]
    rows = _judged(spark, tmp_path, {"shop_1.csv": "\n".join([CSV_HEADER, *lines, ""]).encode()})

    valid = rows["L1"]
    assert valid[REASON] is None
    assert (valid["order_type"], valid["platform"]) == ("sale", "website")
    assert valid["transacted_at"] == datetime(2026, 5, 3, 2, 0)  # 10:00 in Shanghai, stored as UTC
    assert (valid["unit_price"], valid["line_amount"]) == (299.5, 599.0)
    assert (rows["L2"][REASON], rows["L2"][REASON_COLUMN]) == ("unmapped_value", "order_type")
    assert (rows["L3"][REASON], rows["L3"][REASON_COLUMN]) == ("bad_timestamp", "transacted_at")
    assert (rows["L4"][REASON], rows["L4"][REASON_COLUMN]) == ("bad_type", "line_amount")
    assert "yesterday" in rows["L3"]["_record_text"]  # the quarantine row shows what the source sent


def test_json_with_upper_case_keys_and_epoch_times_and_parquet_with_other_names(spark, tmp_path):
    paid = int(datetime(2026, 5, 3, 6, 30, tzinfo=UTC).timestamp() * 1000)
    record = {
        "ORDER_LINE_ID": "J1",
        "ORDER_ID": "O9",
        "LINE_NO": 1,
        "PLATFORM": "天猫",
        "ORDER_TYPE": "S",
        "TRANSACTED_AT": paid,
        "SKU": "S",
        "QUANTITY": 1,
        "UNIT_PRICE": 5,
        "LINE_AMOUNT": 5,
        "ACCOUNT_ID": "A1",
        "CHANNEL_NOTE": "x",
    }
    other = record | {"ORDER_LINE_ID": "J2", "PLATFORM": "拼多多", "ORDER_TYPE": "?"}
    table = pa.table(
        {
            "id": ["P1"],
            "order_id": ["O5"],
            "line_no": [1],
            "order_type": ["sale"],
            "transacted_at": ["2026-05-03T09:00:00+08:00"],
            "sku": ["S"],
            "quantity": [1],
            "unit_price": [7.5],
            "amount": [7.5],
            "account_id": ["A2"],
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    document = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (record, other)).encode()

    rows = _judged(spark, tmp_path, {"app_1.json": document, "dump.parquet": sink.getvalue().to_pybytes()})

    assert rows["J1"][REASON] is None
    assert rows["J1"]["platform"] == "tmall"
    assert rows["J1"]["transacted_at"] == datetime(2026, 5, 3, 6, 30)
    assert rows["J2"]["order_type"] == "sale"  # the map's default
    assert (rows["J2"][REASON], rows["J2"][REASON_COLUMN]) == ("bad_format", "platform")  # kept, not a name
    assert rows["J1"]["_unread_keys"] == ["CHANNEL_NOTE"]
    assert rows["P1"][REASON] is None
    assert (rows["P1"]["platform"], rows["P1"]["line_amount"]) == ("taobao", 7.5)
