"""Real delivery shapes through one `databank run` night: each works or fails one file, never the
night, and never silently.

One generated day of 150 consumers gets the odd shapes sources send planted into its landing
folders: gzip, a JSON document, markers, a glob character in a name, a sub-folder, a format the feed
does not take, upper-case JSON keys, times in other spellings, a CSV with its columns reordered, an
extra column, a byte-order mark, CRLF and a quoted line break in its last field, a header-only CSV,
a header repeated mid-file, Parquet files whose column types drifted, and a shop system's own order
export read through a source mapping (`sources/shop_export.yaml`). The night runs once; each
test reads what it left. The last test, on a day of its own, shows that rows lost fail a feed
before anything of it is written.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from deltalake import DeltaTable

from databank.config import load_settings
from databank.generator.generate import GenerateArgs, generate
from databank.lakehouse import EmbeddedLakehouse
from spark_jobs import ingest_feed

pytestmark = pytest.mark.slow

DAY = date(2026, 2, 1)
STAMP = f"{DAY:%Y%m%d}"
KEY = "delivery-shapes-key"
BROKEN_MEMBER = 0  # the member whose id arrives with a quoted line break inside it


def _folder(settings, feed: str) -> Path:
    return settings.landing / feed / f"dt={DAY}"


@pytest.fixture(scope="module")
def night(module_tmp):
    """The day generated, every shape planted, the night run once; (settings, planted, result)."""
    data_dir = module_tmp("delivery-shapes")
    settings = load_settings(data_dir=data_dir, hmac_key=KEY)
    generate(GenerateArgs(out=settings.landing, consumers=150, days=1, start=DAY, seed=11, bad_rate=0.0))
    planted = {
        **_plant_event_shapes(settings),
        **_plant_member_shapes(settings),
        **_plant_parquet_drift(settings),
        "repeated_header": _repeat_a_header(settings),
        "shop_export": _plant_a_mapped_source(settings, data_dir),
    }
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABANK_", "AIRFLOW"))}
    result = subprocess.run(
        [sys.executable, "-m", "databank.cli", "run", "--date", DAY.isoformat()],
        env={**environment, "DATABANK_DATA_DIR": str(data_dir), "DATABANK_HMAC_KEY": KEY, "COLUMNS": "200"},
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return settings, planted, result


def _plant_event_shapes(settings) -> dict[str, str]:
    """online_events: gzip, a JSON document, markers, `[1]`, a sub-folder, a refused format,
    upper-case keys, and times spelled four other ways."""
    folder = _folder(settings, "online_events")
    files = {p.name.split("_")[1]: p for p in folder.glob("events_*.jsonl") if "_resend" not in p.name}
    gzipped = folder / f"events_tmall_{STAMP}.jsonl.gz"
    gzipped.write_bytes(gzip.compress(files["tmall"].read_bytes()))
    files["tmall"].unlink()
    document = folder / f"events_website_{STAMP}.json"
    records = [json.loads(line) for line in files["website"].read_text().splitlines()]
    document.write_text(json.dumps(records, ensure_ascii=False, indent=2))
    files["website"].unlink()
    bracketed = files["wechat"].rename(folder / f"events_wechat_{STAMP}[1].jsonl")
    (folder / "part-0").mkdir()
    nested = files["douyin"].rename(folder / "part-0" / files["douyin"].name)
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / "part-0" / "_SUCCESS").write_bytes(b"")
    (folder / "delivery_notes.txt").write_text("sent by the platform team\n")
    respelled = _respell_times(files["jd"])
    upper = folder / f"events_jd_{STAMP}_upper.jsonl"
    shouted = {k.upper(): v for k, v in records[0].items()} | {"EVENT_ID": "EV-UPPER"}
    upper.write_text(json.dumps(shouted) + "\n")
    return {
        "gzip": gzipped,
        "document": document,
        "bracketed": bracketed,
        "nested": nested,
        "refused": folder / "delivery_notes.txt",
        "upper": upper,
        "respelled": respelled,
        "upper_account": records[0]["account_id"] or records[0]["device_id"] or records[0]["cookie_id"],
    }


def _respell_times(path: Path) -> Path:
    """`+08:00` times as `+0800`, `+08`, with milliseconds, with a space for the `T`."""
    spellings = (
        lambda t: t[:-3] + t[-2:],
        lambda t: t[:-3],
        lambda t: t[:19] + ".250" + t[19:],
        lambda t: t.replace("T", " "),
    )
    lines = []
    for n, line in enumerate(path.read_text().splitlines()):
        record = json.loads(line)
        record["event_at"] = spellings[n % len(spellings)](record["event_at"])
        lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n")
    return path


def _plant_member_shapes(settings) -> dict[str, object]:
    """members: columns reordered with an extra one, a BOM, CRLF, and a quoted line break inside the
    last field (the member id); and a header-only file."""
    folder = _folder(settings, "members")
    original = next(folder.glob("members_*.csv"))
    with original.open(encoding="utf-8", newline="") as lines:
        rows = list(csv.DictReader(lines))
    columns = [*[c for c in rows[0] if c != "member_id"][::-1], "store_note", "member_id"]
    member_id = rows[BROKEN_MEMBER]["member_id"]
    rows[BROKEN_MEMBER]["member_id"] = member_id[:4] + "\n" + member_id[4:]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({**row, "store_note": "walk-in"} for row in rows)
    original.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    header_only = folder / f"members_{STAMP}_header_only.csv"
    header_only.write_text(",".join(columns) + "\n")
    return {
        "members": original,
        "header_only": header_only,
        "broken_member": rows[BROKEN_MEMBER]["member_record_id"],
        "broken_member_id": member_id,
    }


def _plant_parquet_drift(settings) -> dict[str, Path]:
    """media_exposures: one file's event time as int64 epoch milliseconds; lbs_pings: floats as text."""
    exposures = sorted(_folder(settings, "media_exposures").glob("*.parquet"))[0]
    table = pq.read_table(exposures)
    millis = pc.cast(pc.cast(table["event_at"], pa.timestamp("ms")), pa.int64())
    pq.write_table(table.set_column(table.schema.get_field_index("event_at"), "event_at", millis), exposures)
    pings = next(_folder(settings, "lbs_pings").glob("*.parquet"))
    table = pq.read_table(pings)
    for name in ("lat", "lon"):
        table = table.set_column(table.schema.get_field_index(name), name, pc.cast(table[name], pa.string()))
    pq.write_table(table, pings)
    return {"drifted_time": exposures, "drifted_floats": pings}


# A shop system's order export: its own names, semicolons, GBK, Chinese order types, amounts in fen,
# local times in its own spelling, no platform column; and a note column nobody asked for.
SHOP_MAPPING = {
    "source": "shop_export",
    "feed": "online_orders",
    "files": "shop_export_*.csv",
    "encoding": "gbk",
    "csv": {"separator": ";"},
    "columns": {
        "单号": "order_line_id",
        "Order": "order_id",
        "Kind": "order_type",
        "PaidAt": "transacted_at",
        "PriceFen": "unit_price",
        "AmountFen": "line_amount",
        "Mobile": "receiver_phone",
    },
    "values": {"order_type": {"map": {"销售": "sale", "退款": "refund"}, "unknown": "quarantine"}},
    "times": {"transacted_at": {"format": "yyyy/MM/dd HH:mm:ss", "zone": "Asia/Shanghai"}},
    "scale": {"unit_price": 0.01, "line_amount": 0.01},
    "constants": {"platform": "website"},
}
SHOP_LINES = [
    "单号;Order;line_no;Kind;refund_of_line_id;PaidAt;sku;quantity;PriceFen;AmountFen;account_id;Mobile;Note",
    "SX-1-1;SX-1;1;销售;;2026/02/01 10:15:00;{sku1};2;29950;59900;shop-b1;13912345678;送给妈妈",
    "SX-1-2;SX-1;2;销售;;2026/02/01 10:15:00;{sku2};1;1990;1990;shop-b1;13912345678;",
    "SX-2-1;SX-2;1;退款;SX-0-1;2026/02/01 21:40:30;{sku1};1;29950;29950;shop-b2;;",
    "SX-3-1;SX-3;1;赠品;;2026/02/01 12:00:00;{sku2};1;0;0;shop-b3;;",
]


def _plant_a_mapped_source(settings, project: Path) -> Path:
    (project / "sources").mkdir()
    (project / "sources" / "shop_export.yaml").write_text(yaml.safe_dump(SHOP_MAPPING, allow_unicode=True))
    products = next(_folder(settings, "products").glob("*.csv"))
    with products.open(encoding="utf-8", newline="") as lines:
        sku1, sku2 = [row["sku"] for row in csv.DictReader(lines)][:2]  # the shop sells the brand's products
    export = _folder(settings, "online_orders") / f"shop_export_{STAMP}.csv"
    text = "\r\n".join(SHOP_LINES).format(sku1=sku1, sku2=sku2) + "\r\n"
    export.write_bytes(text.encode("gbk"))
    return export


def _repeat_a_header(settings) -> Path:
    products = next(_folder(settings, "products").glob("*.csv"))
    lines = products.read_text(encoding="utf-8").splitlines()
    middle = len(lines) // 2
    products.write_text("\n".join([*lines[:middle], lines[0], *lines[middle:]]) + "\n", encoding="utf-8")
    return products


def _table(settings, layer: str, name: str) -> pl.DataFrame:
    return pl.from_arrow(DeltaTable(str(settings.lakehouse / layer / name)).to_pyarrow_table())


def _relative(settings, path: Path) -> str:
    return path.relative_to(settings.landing).as_posix()


def _from_file(frame: pl.DataFrame, settings, path: Path) -> pl.DataFrame:
    return frame.filter(pl.col("ingest_source_file") == _relative(settings, path))


def test_the_night_succeeds(night):
    _, _, result = night

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"{DAY}: success" in result.stdout


def test_every_file_is_registered_with_what_became_of_it(night):
    settings, planted, _ = night
    delivered = {
        _relative(settings, p)
        for p in settings.landing.glob(f"*/dt={DAY}/**/*")
        if p.is_file() and p.parts[-3] != "_truth"
    }

    register = _table(settings, "ops", "ingested_files").filter(pl.col("dt") == DAY)
    status = dict(zip(register["file"], register["status"], strict=True))

    assert set(status) == delivered
    ignored = {f for f in delivered if f.rsplit("/", 1)[-1] == "_SUCCESS"}
    assert ignored
    assert all(status[f] == "ignored" for f in ignored)
    assert status[_relative(settings, planted["refused"])] == "refused"
    for shape in (
        "gzip",
        "document",
        "bracketed",
        "nested",
        "upper",
        "members",
        "header_only",
        "shop_export",
    ):
        assert status[_relative(settings, planted[shape])] == "ingested", shape


def test_rows_delivered_equal_rows_stored_for_every_feed(night):
    settings, _, _ = night

    runs = _table(settings, "ops", "ingest_runs").filter(pl.col("dt") == DAY)

    assert runs.height >= 6
    stored = runs["rows_bronze"] + runs["rows_quarantined"] + runs["rows_suppressed"]
    assert (runs["rows_delivered"] == stored).all()


def test_gzip_json_document_bracketed_and_nested_files_are_read_whole(night):
    settings, planted, _ = night
    bronze = _table(settings, "bronze", "online_events")
    register = _table(settings, "ops", "ingested_files")
    rows = dict(zip(register["file"], register["rows"], strict=True))

    for shape in ("gzip", "document", "bracketed", "nested"):
        path = planted[shape]
        assert _from_file(bronze, settings, path).height == rows[_relative(settings, path)] > 0, shape


def test_a_format_the_feed_does_not_take_is_quarantined_as_one_record_with_its_reason(night):
    settings, planted, _ = night

    quarantined = _from_file(_table(settings, "quarantine", "online_events"), settings, planted["refused"])

    assert quarantined["reason"].to_list() == ["unsupported_format"]


def test_times_in_other_spellings_are_normalised_to_the_same_instants(night):
    settings, planted, _ = night

    bronze = _from_file(_table(settings, "bronze", "online_events"), settings, planted["respelled"])

    expected = {
        json.loads(line)["event_id"]: _instant(json.loads(line)["event_at"])
        for line in planted["respelled"].read_text().splitlines()
    }
    assert dict(zip(bronze["event_id"], bronze["event_at"], strict=True)) == expected


def _instant(spelled: str) -> datetime:
    """The UTC instant of a time spelled with an offset, read here without Spark."""
    text = spelled.replace(" ", "T")
    if text[-3] in "+-":  # +08
        text += ":00"
    elif text[-5] in "+-":  # +0800
        text = text[:-2] + ":" + text[-2:]
    return datetime.fromisoformat(text).astimezone(UTC)


def test_upper_case_json_keys_are_quarantined_with_their_line_masked_and_recorded(night):
    settings, planted, _ = night

    quarantined = _from_file(_table(settings, "quarantine", "online_events"), settings, planted["upper"])
    register = _table(settings, "ops", "ingested_files")
    extra = register.filter(pl.col("file") == _relative(settings, planted["upper"]))["extra_columns"][0]

    assert quarantined["reason"].to_list() == ["missing_required"]
    raw_text = quarantined["raw_text"][0]
    assert '"EVENT_TYPE"' in raw_text
    assert raw_text != "{}"
    assert planted["upper_account"] not in raw_text
    assert "EVENT_ID" in extra.to_list()


def test_a_csv_with_reordered_columns_a_bom_crlf_and_a_quoted_line_break_is_stored_right(night):
    settings, planted, _ = night
    bronze = _from_file(_table(settings, "bronze", "members"), settings, planted["members"])
    register = _table(settings, "ops", "ingested_files")

    broken = bronze.filter(pl.col("member_record_id") == planted["broken_member"])
    normalised = "".join(planted["broken_member_id"].split()).upper()
    expected = hmac.new(KEY.encode(), normalised.encode(), hashlib.sha256).hexdigest()

    assert bronze.height == len(planted["members"].read_bytes().split(b"\r\n")) - 2  # header, last break
    assert (broken["member_id_hmac"][0], broken["member_id_status"][0]) == (expected, "ok")
    entry = register.filter(pl.col("file") == _relative(settings, planted["members"]))
    assert entry["extra_columns"][0].to_list() == ["store_note"]
    header_only = register.filter(pl.col("file") == _relative(settings, planted["header_only"]))
    assert header_only["rows"].to_list() == [0]


def test_a_shops_own_export_is_read_through_its_source_mapping(night):
    settings, planted, _ = night
    export = planted["shop_export"]

    bronze = _from_file(_table(settings, "bronze", "online_orders"), settings, export).sort("order_line_id")
    quarantine = _from_file(_table(settings, "quarantine", "online_orders"), settings, export)
    entry = _table(settings, "ops", "ingested_files").filter(pl.col("file") == _relative(settings, export))

    assert (entry["source"][0], entry["encoding"][0], entry["rows"][0]) == ("shop_export", "gbk", 4)
    assert entry["extra_columns"][0].to_list() == ["Note"]
    assert bronze["order_line_id"].to_list() == ["SX-1-1", "SX-1-2", "SX-2-1"]
    assert bronze["order_type"].to_list() == ["sale", "sale", "refund"]
    assert set(bronze["platform"]) == {"website"}
    assert bronze["line_amount"].to_list() == [599.0, 19.9, 299.5]
    assert bronze["unit_price"].to_list() == [299.5, 19.9, 299.5]
    shanghai_to_utc = [
        datetime(2026, 2, 1, 2, 15),
        datetime(2026, 2, 1, 2, 15),
        datetime(2026, 2, 1, 13, 40, 30),
    ]
    assert [t.replace(tzinfo=None) for t in bronze["transacted_at"].to_list()] == shanghai_to_utc
    assert bronze["receiver_phone_status"].to_list()[:2] == ["ok", "ok"]
    assert "13912345678" not in bronze.write_csv()
    assert set(zip(quarantine["reason"], quarantine["reason_column"], strict=True)) == {
        ("unmapped_value", "order_type")
    }


def test_a_header_repeated_mid_file_is_no_record(night):
    settings, planted, _ = night
    lines = planted["repeated_header"].read_text(encoding="utf-8").splitlines()

    bronze = _from_file(_table(settings, "bronze", "products"), settings, planted["repeated_header"])

    assert bronze.height == len(lines) - 2


def test_a_drifted_parquet_file_is_quarantined_with_a_reason_and_the_feeds_other_files_are_not(night):
    settings, planted, _ = night
    drifted = planted["drifted_time"]
    others = [p for p in _folder(settings, "media_exposures").glob("*.parquet") if p != drifted]

    quarantine = _from_file(_table(settings, "quarantine", "media_exposures"), settings, drifted)
    bronze = _table(settings, "bronze", "media_exposures")

    assert quarantine.height == pq.ParquetFile(drifted).metadata.num_rows
    assert set(zip(quarantine["reason"], quarantine["reason_column"], strict=True)) == {
        ("bad_timestamp", "event_at")
    }
    for path in others:
        assert _from_file(bronze, settings, path).height == pq.ParquetFile(path).metadata.num_rows


def test_floats_delivered_as_text_in_parquet_are_coerced_per_the_contract(night):
    settings, planted, _ = night
    delivered = pq.read_table(planted["drifted_floats"]).to_pydict()

    bronze = _from_file(_table(settings, "bronze", "lbs_pings"), settings, planted["drifted_floats"])

    stored = dict(zip(bronze["ping_id"], bronze["lat"], strict=True))
    assert stored == {p: float(lat) for p, lat in zip(delivered["ping_id"], delivered["lat"], strict=True)}


def test_rows_lost_fail_the_feed_before_bronze_or_quarantine_is_written(spark, tmp_path, monkeypatch):
    settings = load_settings(data_dir=tmp_path, hmac_key=KEY)
    generate(GenerateArgs(out=settings.landing, consumers=10, days=1, start=DAY, seed=7, bad_rate=0.0))
    monkeypatch.setattr(ingest_feed, "rows_delivered", lambda decisions: 10**6)

    with pytest.raises(ingest_feed.RowsLostError, match="nothing written"):
        ingest_feed.ingest(spark, EmbeddedLakehouse(str(settings.lakehouse)), settings, "brands", DAY)

    assert not (settings.lakehouse / "bronze" / "brands").exists()
    assert not (settings.lakehouse / "quarantine" / "brands").exists()
    assert _table(settings, "ops", "ingest_runs")["rows_delivered"].to_list() == [10**6]
