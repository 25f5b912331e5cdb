"""Source mappings: checked against the contract when loaded, and the files they read counted and
named in the source's own dialect."""

import gzip
from datetime import date
from pathlib import Path

import pytest
import yaml

from databank.contracts import load_contract
from databank.delivered_text import CsvDialect, header_fields, text_records
from databank.landing import list_delivered
from databank.sources import SourceError, load_source, load_sources, source_of_file, sources_of_feed

ORDERS = load_contract("online_orders")
DAY = date(2026, 5, 3)
# A shop system's order export: its own names, semicolons, GBK, cents, its own time spelling.
SHOP = {
    "source": "shop_export",
    "feed": "online_orders",
    "files": "shop_*.csv*",
    "encoding": "gbk",
    "csv": {"separator": ";"},
    "columns": {
        "LineID": "order_line_id",
        "OrderNo": "order_id",
        "Pos": "line_no",
        "Kind": "order_type",
        "RefundOf": "refund_of_line_id",
        "PaidAt": "transacted_at",
        "Sku": "sku",
        "Qty": "quantity",
        "PriceCents": "unit_price",
        "AmountCents": "line_amount",
        "Buyer": "account_id",
        "Mobile": "receiver_phone",
    },
    "values": {"order_type": {"map": {"销售": "sale", "退款": "refund"}, "unknown": "quarantine"}},
    "times": {"transacted_at": {"format": "yyyy/MM/dd HH:mm:ss", "zone": "Asia/Shanghai"}},
    "scale": {"unit_price": 0.01, "line_amount": 0.01},
    "constants": {"platform": "website"},
}
HEADER = "LineID;OrderNo;Pos;Kind;RefundOf;PaidAt;Sku;Qty;PriceCents;AmountCents;Buyer;Mobile;Note"


def _write(folder: Path, mapping: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{mapping['source']}.yaml"
    path.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    return path


def test_a_mapping_loads_and_names_every_column_the_source_delivers(tmp_path):
    _write(tmp_path, SHOP)

    mapping = load_sources(tmp_path)["shop_export"]

    names = mapping.source_names()
    assert names["order_line_id"] == "LineID"
    assert names["transacted_at"] == "PaidAt"
    assert "platform" not in names  # a constant fills it
    assert names["coupon_id"] == "coupon_id"  # not renamed: read under its own name
    assert mapping.contract_name("AmountCents") == "line_amount"
    assert mapping.contract_name("Note") == "Note"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"columns": {"LineID": "line_identifier"}}, "no columns of the online_orders contract"),
        ({"values": {"order_type": {"map": {"换货": "exchange"}}}}, "outside order_type's values"),
        ({"scale": {"sku": 0.01}}, "not an amount"),
        ({"times": {"quantity": {"format": "yyyy"}}}, "not a time"),
        ({"times": {"transacted_at": {"format": "yyyy", "zone": "Mars/Olympus"}}}, "no IANA time zone"),
        ({"constants": {"order_id": "X"}}, "also read from the source's columns"),
        ({"csv": {"header": False}}, "names its fields in `columns`"),
        ({"encoding": "klingon"}, "unknown to Python's codecs"),
        ({"feed": "no_such_feed"}, "no contract for feed"),
        ({"colums": {}}, "Extra inputs are not permitted"),
    ],
)
def test_a_mapping_that_does_not_fit_its_contract_fails_with_its_file_and_rule(tmp_path, change, complaint):
    path = _write(tmp_path, SHOP | change)

    with pytest.raises(SourceError, match=complaint) as raised:
        load_source(path)
    assert str(path) in str(raised.value)


def test_a_file_is_read_by_the_first_mapping_its_name_matches_or_by_none(tmp_path):
    _write(tmp_path, SHOP)
    _write(tmp_path, SHOP | {"source": "archive_export", "files": "archive/*"})
    sources = sources_of_feed(load_sources(tmp_path), "online_orders")

    assert source_of_file(Path("shop_20260503.csv.gz"), sources).source == "shop_export"
    assert source_of_file(Path("archive/orders.csv"), sources).source == "archive_export"
    assert source_of_file(Path("orders_tmall_20260503.jsonl"), sources) is None
    assert sources_of_feed(load_sources(tmp_path), "members") == ()
    assert load_sources(tmp_path / "absent") == {}


def test_records_split_in_the_sources_dialect_keep_quoted_separators_and_line_breaks():
    dialect = CsvDialect(separator=";", quote="'")
    text = "a;b\n'x;y';'two\nlines'\nplain;row\n"

    found = text_records(text, "csv", dialect=dialect)

    assert found.records == ["a;b", "'x;y';'two\nlines'", "plain;row"]
    assert found.spans_lines
    assert header_fields("'Line ID';Qty", dialect) == ["Line ID", "Qty"]


def test_a_mapped_file_is_counted_and_named_as_its_mapping_says(tmp_path):
    sources = sources_of_feed(
        {"shop_export": load_source(_write(tmp_path / "sources", SHOP))}, "online_orders"
    )
    folder = tmp_path / "landing" / "online_orders" / f"dt={DAY}"
    folder.mkdir(parents=True)
    line = "S1-1;S1;1;销售;;2026/05/03 10:00:00;SKU1;1;59900;59900;B1;13912345678;礼物"
    (folder / "shop_20260503.csv.gz").write_bytes(gzip.compress(f"{HEADER}\r\n{line}\r\n".encode("gbk")))

    (delivered,) = list_delivered(tmp_path / "landing", ORDERS, DAY, sources)

    assert (delivered.mapping.source, delivered.encoding, delivered.compression) == (
        "shop_export",
        "gbk",
        "gzip",
    )
    assert delivered.rows == 1
    assert delivered.problem is None
    assert delivered.columns[:3] == ("order_line_id", "order_id", "line_no")
    assert delivered.extra_columns == ("Note",)
    assert delivered.restaged  # GBK is read from a UTF-8 copy


def test_a_headerless_source_takes_its_names_from_its_mapping_and_is_refused_without_it(tmp_path):
    headerless = SHOP | {"csv": {"separator": ";", "header": False, "columns": HEADER.split(";")}}
    sources = (load_source(_write(tmp_path / "sources", headerless)),)
    folder = tmp_path / "landing" / "online_orders" / f"dt={DAY}"
    folder.mkdir(parents=True)
    line = "S1-1;S1;1;销售;;2026/05/03 10:00:00;SKU1;1;59900;59900;B1;;"
    (folder / "shop_1.csv").write_bytes(f"{line}\n{line}\n".encode("gbk"))

    (delivered,) = list_delivered(tmp_path / "landing", ORDERS, DAY, sources)
    (unmapped,) = list_delivered(tmp_path / "landing", ORDERS, DAY)

    assert delivered.rows == 2
    assert delivered.header is None
    assert delivered.problem is None
    assert delivered.columns[0] == "order_line_id"
    assert unmapped.problem == "unsupported_format"  # the contract alone takes orders as JSON Lines


def test_the_documented_example_mappings_load():
    examples = Path(__file__).parents[2] / "docs" / "examples" / "sources"

    mappings = load_sources(examples)

    assert set(mappings) == {"shop_export", "cdnow"}
    assert mappings["shop_export"].source_names()["order_line_id"] == "单号"
    assert mappings["cdnow"].source_names()["account_id"] == "customer_id"
