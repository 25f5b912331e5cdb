"""`databank sources check`: a dry run on sample files that says, per file and column, what would
parse and what would be quarantined and why, exits 1 when a file would be rejected whole, and writes
nothing."""

import gzip
import json
from pathlib import Path

import pytest
import yaml
from cd_report import CD_REPORT
from typer.testing import CliRunner

from databank.cli import app

runner = CliRunner()
MAPPING = {
    "source": "shop_export",
    "feed": "online_orders",
    "files": "shop_*.csv*",
    "csv": {"separator": ";"},
    "columns": {
        "LineID": "order_line_id",
        "OrderNo": "order_id",
        "Pos": "line_no",
        "Kind": "order_type",
        "PaidAt": "transacted_at",
        "Sku": "sku",
        "Qty": "quantity",
        "Price": "unit_price",
        "Amount": "line_amount",
        "Buyer": "account_id",
    },
    "times": {"transacted_at": {"format": "yyyy-MM-dd HH:mm", "zone": "Asia/Shanghai"}},
    "constants": {"platform": "website"},
}
HEADER = "LineID;OrderNo;Pos;Kind;PaidAt;Sku;Qty;Price;Amount;Buyer;GiftNote"
GOOD = "L1;O1;1;sale;2026-05-03 10:00;S1;1;9.9;9.9;B1;for mum"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path, monkeypatch, spark):
    """A brand's folder: its mapping in sources/, sample files in samples/, its data folder unborn."""
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "shop_export.yaml").write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    samples = tmp_path / "samples"
    samples.mkdir()
    mistyped = GOOD.replace("L1;", "L2;").replace(";sale;", ";slae;")
    (samples / "shop_bom.csv").write_bytes(f"\ufeff{HEADER}\r\n{GOOD}\r\n{mistyped}\r\n".encode())
    (samples / "shop_day.csv.gz").write_bytes(gzip.compress(f"{HEADER}\n{GOOD}\n".encode()))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABANK_HMAC_KEY", "sources-check-key")
    return tmp_path


def test_it_prints_each_files_verdict_and_the_column_and_reason_of_what_would_be_quarantined(project):
    before = _tree(project)

    printed = runner.invoke(app, ["sources", "check", "samples"])
    as_json = runner.invoke(app, ["sources", "check", "samples", "--json"])

    assert printed.exit_code == 0, printed.output
    assert "shop_bom.csv" in printed.output
    assert "shop_day.csv.gz" in printed.output
    assert "kept aside (recorded, not read): GiftNote" in printed.output
    reports = {r["file"]: r for r in json.loads(as_json.output)["files"]}
    bom, day = reports["shop_bom.csv"], reports["shop_day.csv.gz"]
    assert (bom["records"], bom["valid"], bom["rejected_whole"]) == (2, 1, None)
    columns = {c["name"]: c for c in bom["columns"]}
    assert columns["order_type"]["quarantined"] == {"unknown_enum": 1}
    assert columns["order_line_id"]["filled_by"] == "LineID"
    assert columns["platform"]["filled_by"] == "constant 'website'"
    assert columns["transacted_at"]["rules"] == ["time 'yyyy-MM-dd HH:mm' in Asia/Shanghai"]
    assert columns["account_id"]["identifier"] == "account_id"
    assert (day["compression"], day["records"], day["valid"]) == ("gzip", 1, 1)
    assert _tree(project) == before  # no data folder, no staged copy, nothing
    assert "B1" not in as_json.output  # counts only: no value, so no identifier


def test_a_file_that_would_be_rejected_whole_fails_the_check(project):
    (project / "samples" / "shop_old.csv").write_text("Order;When\nO1;2026-05-03\n")
    (project / "samples" / "notes.txt").write_text("sent by the shop team\n")

    result = runner.invoke(app, ["sources", "check", "samples"])

    assert result.exit_code == 1
    assert "shop_old.csv: rejected whole (unexpected_header)" in result.output
    assert "notes.txt: rejected whole (no_source_mapping_matches)" in result.output


def test_a_mapping_that_does_not_fit_its_contract_stops_the_check_with_its_file(project):
    broken = MAPPING | {"values": {"order_type": {"map": {"换货": "exchange"}}}}
    (project / "sources" / "shop_export.yaml").write_text(yaml.safe_dump(broken, allow_unicode=True))

    result = runner.invoke(app, ["sources", "check", "samples"])

    assert result.exit_code == 2
    assert "shop_export.yaml" in result.output
    assert "exchange" in result.output


def test_whitespace_fields_and_derived_columns_show_in_the_files_verdict(project):
    (project / "sources" / "cd_report.yaml").write_text(yaml.safe_dump(CD_REPORT), encoding="utf-8")
    lines = [
        " customer day cds usd",
        " 00001 20260503 2 15.54",
        " 00001 20260503 2 15.54",
        " 00002 20260503 0 9",
    ]
    (project / "samples" / "cd_1.txt").write_bytes("\r\n".join([*lines, ""]).encode())

    printed = runner.invoke(app, ["sources", "check", "samples/cd_1.txt"])
    as_json = runner.invoke(app, ["sources", "check", "samples/cd_1.txt", "--json"])

    assert printed.exit_code == 0, printed.output
    assert "fields separated by blanks, unquoted" in " ".join(printed.output.split())  # wrapped
    (verdict,) = json.loads(as_json.output)["files"]
    assert verdict["fields"] == "separated by blanks, unquoted"
    assert (verdict["source"], verdict["records"], verdict["valid"]) == ("cd_report", 3, 2)
    columns = {c["name"]: c for c in verdict["columns"]}
    assert columns["order_line_id"]["filled_by"] == "derived"
    assert columns["order_line_id"]["rules"] == ["keyed hash of the record and its occurrence in its file"]
    assert columns["order_line_id"]["values"] == 3
    assert columns["unit_price"]["rules"] == ["line_amount / quantity"]
    assert columns["unit_price"]["quarantined"] == {"bad_type": 1}  # no price for zero CDs
    assert "00001" not in as_json.output
