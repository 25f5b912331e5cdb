"""`databank sources land`: a history delivered as one file split into the day folders load-history
reads, each record unchanged on the local day of its event time, read as ingestion reads it."""

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from cd_report import CD_REPORT
from pyspark.sql import functions as F
from typer.testing import CliRunner

from databank.cli import app
from databank.source_landing import LandingRefusedError, land_file
from databank.sources import SourceMapping
from databank.spark_datetime import UnsupportedPatternError, parser

runner = CliRunner()
TZ = ZoneInfo("America/New_York")
HEADER = " customer  day cds  usd"
LINES = [
    " 00007 19970102  1  9.99",
    " 00001 19970101  2 15.54",
    " 00001 19970101  2 15.54",
    " 00002 1997013X  1  9.99",  # no date: landed on the last day, quarantined there
    " 00003 19970105  1  0.00",
]


def _history(folder: Path, name: str = "cd_history.txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes("\r\n".join([HEADER, *LINES, ""]).encode())
    return path


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_each_record_lands_unchanged_on_its_day_and_a_time_that_does_not_read_on_the_last(tmp_path):
    landing = tmp_path / "landing"

    landed = land_file(_history(tmp_path / "in"), SourceMapping.model_validate(CD_REPORT), landing, TZ)

    files = _tree(landing)
    assert sorted(files) == [
        f"online_orders/dt={day}/cd_history.txt" for day in ("1997-01-01", "1997-01-02", "1997-01-05")
    ]
    assert files["online_orders/dt=1997-01-01/cd_history.txt"] == (
        f"{HEADER}\r\n{LINES[1]}\r\n{LINES[2]}\r\n".encode()  # both identical lines, header repeated
    )
    assert files["online_orders/dt=1997-01-05/cd_history.txt"].decode().split("\r\n")[1:] == [
        LINES[3],
        LINES[4],
        "",
    ]
    assert landed.days == {date(1997, 1, 1): 2, date(1997, 1, 2): 1, date(1997, 1, 5): 2}
    assert (landed.records, landed.without_time) == (5, 1)


def test_it_refuses_to_land_over_day_files_of_the_same_name_or_for_a_mapping_that_would_not_read_them(
    tmp_path,
):
    landing = tmp_path / "landing"
    mapping = SourceMapping.model_validate(CD_REPORT)
    land_file(_history(tmp_path / "in"), mapping, landing, TZ)
    before = _tree(landing)

    with pytest.raises(LandingRefusedError, match=r"3 day folder\(s\) already hold a file named"):
        land_file(_history(tmp_path / "in"), mapping, landing, TZ)
    with pytest.raises(LandingRefusedError, match=r"reads files named 'cd_\*\.txt', not 'orders\.txt'"):
        land_file(_history(tmp_path / "in", "orders.txt"), mapping, landing, TZ)
    months_named = {"transacted_at": {"format": "MMM d, yyyy"}}
    unreadable = SourceMapping.model_validate(CD_REPORT | {"times": months_named})
    with pytest.raises(LandingRefusedError, match="'MMM' is not read here"):
        land_file(_history(tmp_path / "in", "cd_2.txt"), unreadable, landing, TZ)
    assert _tree(landing) == before


def test_epoch_times_land_on_the_business_day_they_fall_on(tmp_path):
    app_orders = {
        "source": "app_orders",
        "feed": "online_orders",
        "files": "app_*.jsonl",
        "times": {"transacted_at": {"epoch": "milliseconds"}},
    }
    late_evening = int(datetime(1997, 1, 2, 4, 30, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    path = tmp_path / "app_all.jsonl"
    path.write_text(json.dumps({"transacted_at": late_evening, "order_line_id": "A1"}) + "\n")

    landed = land_file(path, SourceMapping.model_validate(app_orders), tmp_path / "landing", TZ)

    assert landed.days == {date(1997, 1, 1): 1}  # 23:30 on the 1st in New York


def test_the_command_prints_counts_only(tmp_path, monkeypatch):
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "cd_report.yaml").write_text(yaml.safe_dump(CD_REPORT), encoding="utf-8")
    history = _history(tmp_path / "in")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABANK_BUSINESS_TIMEZONE", "America/New_York")

    first = runner.invoke(app, ["sources", "land", str(history), "--source", "cd_report"])
    again = runner.invoke(app, ["sources", "land", str(history), "--source", "cd_report"])

    assert first.exit_code == 0, first.output
    printed = " ".join(first.output.split())
    assert "Landed 5 records of cd_history.txt into 3 day folders" in printed
    assert "1 records without a readable time went to 1997-01-05" in printed
    assert again.exit_code == 1
    assert "nothing written" in again.output
    assert "00001" not in first.output + again.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "in", "sources"]


PATTERNS = {
    "yyyyMMdd": ["19970112", " 19970112 ", "19971301", "1997011", "19970229", "1997O112"],
    "yyyy/MM/dd HH:mm:ss": ["2026/05/03 10:15:00", "2026/5/3 10:15:00", "2026/05/03 24:00:00"],
    "yyyy/M/d H:mm": ["2026/5/3 9:05", "2026/05/03 09:05", "2026/5/3 9:5"],
    "yyyy-MM-dd'T'HH:mm:ss.SSS": ["2026-05-03T10:15:00.123", "2026-05-03T10:15:00"],
    "dd.MM.yy": ["03.05.26", "3.5.26"],
}


def test_spark_patterns_read_in_python_as_spark_reads_them(spark):
    cases = [(pattern, text) for pattern, texts in PATTERNS.items() for text in texts]
    frame = spark.createDataFrame(cases, "pattern string, text string")
    by_spark = frame.select(F.try_to_timestamp(F.trim("text"), F.col("pattern")).alias("at")).collect()

    by_python = [parser(pattern)(text) for pattern, text in cases]

    assert by_python == [row["at"] for row in by_spark]
    assert sum(at is None for at in by_python) >= 5
    with pytest.raises(UnsupportedPatternError, match="'hh' is not read here"):
        parser("yyyy-MM-dd hh:mm a")
