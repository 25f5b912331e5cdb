"""The feed gates over Delta tables, the results table they write, and the report built from it."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake
from quality_rows import clean_table

from databank.config import load_settings
from databank.contracts import load_contract
from databank.quality.docs import build_data_docs
from databank.quality.gates import QualityGateError, check_bronze, check_silver
from databank.quality.results import SCHEMA, read_results

FEED = "lbs_pings"
FIRST, DAYS = date(2026, 5, 1), 4
RUN_DAY = FIRST + timedelta(days=DAYS - 1)
ROWS = 60  # above the volume rule's smallest average, so the band applies


@pytest.fixture
def settings(tmp_path):
    return load_settings(data_dir=tmp_path)


def write_days(settings, layer: str, rows_by_day: dict[date, int]) -> None:
    """`layer.<FEED>` with clean rows, partitioned by day as ingest and standardise write it."""
    contract = load_contract(FEED)
    for day, rows in rows_by_day.items():
        table = clean_table(contract, day, rows, silver=layer == "silver")
        table = table.append_column("dt", pa.array([day] * rows, pa.date32()))
        write_deltalake(str(settings.lakehouse / layer / FEED), table, mode="append", partition_by=["dt"])


def history(last_day_rows: int) -> dict[date, int]:
    return {FIRST + timedelta(days=n): ROWS for n in range(DAYS - 1)} | {RUN_DAY: last_day_rows}


def test_a_clean_day_passes_and_its_results_are_kept(settings):
    write_days(settings, "bronze", history(ROWS))

    report = check_bronze(settings, FEED, RUN_DAY)

    assert (report.failed_critical, report.failed_warning) == ([], [])
    results = read_results(settings)
    assert results.num_rows == report.checked
    assert set(results.column("suite").to_pylist()) == {"bronze.lbs_pings"}
    assert "volume_not_dropped" in results.column("expectation").to_pylist()


def test_the_volume_rule_reads_files_that_hold_their_partition_column(settings):
    """delta-spark (the cluster profile) writes each file's day into the file too, as a date."""
    write_days(settings, "bronze", history(ROWS // 5))
    for file in (settings.lakehouse / "bronze" / FEED).glob("dt=*/*.parquet"):
        rows = pq.read_table(file, partitioning=None)
        day = date.fromisoformat(file.parent.name.removeprefix("dt="))
        pq.write_table(rows.append_column("dt", pa.array([day] * rows.num_rows, pa.date32())), file)

    report = check_bronze(settings, FEED, RUN_DAY)

    assert report.failed_warning == ["bronze.lbs_pings:volume_not_dropped"]  # earlier days counted


def test_a_dropped_feed_warns_by_default_and_stops_the_night_where_severity_says_so(settings, tmp_path):
    write_days(settings, "bronze", history(ROWS // 5))
    strict = load_settings(data_dir=tmp_path, quality={"severity": {"*:volume_not_dropped": "critical"}})

    report = check_bronze(settings, FEED, RUN_DAY)
    with pytest.raises(QualityGateError, match=r"bronze\.lbs_pings:volume_not_dropped \(observed: 12\)"):
        check_bronze(strict, FEED, RUN_DAY)

    assert (report.failed_critical, report.failed_warning) == ([], ["bronze.lbs_pings:volume_not_dropped"])
    failed = [r for r in read_results(settings).to_pylist() if not r["success"]]
    assert [(r["expectation"], r["severity"], r["observed_value"]) for r in failed] == [
        ("volume_not_dropped", "critical", "12")
    ]


def test_a_day_without_rows_of_a_feed_that_always_has_them_stops_the_night(settings):
    write_days(settings, "bronze", {day: ROWS for day in history(ROWS) if day != RUN_DAY})

    with pytest.raises(QualityGateError, match=r"bronze\.lbs_pings:volume_not_vanished") as failure:
        check_bronze(settings, FEED, RUN_DAY)

    assert "bronze.lbs_pings:volume_not_dropped" in failure.value.report.failed_warning


def test_a_feed_that_never_arrived_fails_every_rule(settings):
    with pytest.raises(QualityGateError) as failure:
        check_silver(settings, FEED, RUN_DAY)

    assert "silver.lbs_pings:type(ping_id)" in failure.value.report.failed_critical
    assert "silver.lbs_pings:rows_present" in failure.value.report.failed_warning


def test_a_day_delivered_twice_warns_in_bronze(settings):
    write_days(settings, "bronze", history(ROWS))
    write_days(settings, "bronze", {RUN_DAY: ROWS})  # the same records once more

    report = check_bronze(settings, FEED, RUN_DAY)

    assert report.failed_critical == []
    assert report.failed_warning == ["bronze.lbs_pings:unique(ping_id)"]


def test_checking_a_day_again_replaces_its_results(settings):
    write_days(settings, "bronze", history(ROWS))
    first = check_bronze(settings, FEED, RUN_DAY)

    second = check_bronze(settings, FEED, RUN_DAY)

    results = read_results(settings)
    assert results.num_rows == second.checked
    assert set(results.column("run_id").to_pylist()) == {second.run_id} != {first.run_id}


def test_the_report_is_plain_json(settings):
    write_days(settings, "bronze", history(ROWS))

    report = check_bronze(settings, FEED, RUN_DAY)

    assert json.loads(json.dumps(dataclasses.asdict(report)))["day"] == RUN_DAY.isoformat()


def test_results_read_from_a_day_on_and_empty_before_any_gate(settings):
    assert read_results(settings).schema == SCHEMA
    assert read_results(settings).num_rows == 0
    write_days(settings, "bronze", history(ROWS))
    check_bronze(settings, FEED, RUN_DAY - timedelta(days=1))
    check_bronze(settings, FEED, RUN_DAY)

    assert set(read_results(settings, since=RUN_DAY).column("run_date").to_pylist()) == {RUN_DAY}
    assert read_results(settings).schema == SCHEMA


def test_the_quality_page_shows_which_checks_failed_on_which_day(tmp_path):
    settings = load_settings(data_dir=tmp_path, quality={"severity": {"*:volume_not_dropped": "critical"}})
    write_days(settings, "bronze", history(ROWS // 5))
    check_bronze(settings, FEED, RUN_DAY - timedelta(days=1))
    with pytest.raises(QualityGateError):
        check_bronze(settings, FEED, RUN_DAY)

    index = build_data_docs(settings)

    assert index == settings.reports / "quality" / "index.html"
    page = index.read_text()
    failed_day = page[page.index(f'id="day-{RUN_DAY}"') :]
    assert "volume_not_dropped" in failed_day
    clean_day = page[page.index(f'id="day-{RUN_DAY - timedelta(days=1)}"') :]
    assert "Every check passed" in clean_day
    assert "http://" not in page
    assert "https://" not in page


def record_ingest(settings, bronze: int, quarantined: int) -> None:
    """The ingest run of FEED on RUN_DAY as ops.ingest_runs logs it (partitioned by feed)."""
    run = {
        "feed": FEED,
        "dt": RUN_DAY,
        "rows_delivered": bronze + quarantined,
        "rows_bronze": bronze,
        "rows_quarantined": quarantined,
        "rows_suppressed": 0,
        "finished_at": datetime(2026, 5, 5, 1, 0),
    }
    earlier = {**run, "rows_bronze": 0, "rows_quarantined": 0, "finished_at": datetime(2026, 5, 4, 1, 0)}
    write_deltalake(
        str(settings.lakehouse / "ops" / "ingest_runs"),
        pa.Table.from_pylist([earlier, run]),
        partition_by=["feed"],
    )


def test_a_day_mostly_quarantined_warns_and_can_be_made_to_stop_the_night(settings):
    write_days(settings, "bronze", history(ROWS))
    record_ingest(settings, bronze=ROWS, quarantined=3 * ROWS)  # three rows in four quarantined

    report = check_bronze(settings, FEED, RUN_DAY)
    strict = settings.model_copy(
        update={
            "quality": settings.quality.model_copy(update={"severity": {"*:mostly_accepted": "critical"}})
        }
    )

    assert report.failed_warning == ["bronze.lbs_pings:mostly_accepted"]
    with pytest.raises(QualityGateError, match=r"mostly_accepted \(observed: 60\)"):
        check_bronze(strict, FEED, RUN_DAY)


def test_a_day_with_some_rows_quarantined_is_accepted(settings):
    write_days(settings, "bronze", history(ROWS))
    record_ingest(settings, bronze=ROWS, quarantined=ROWS - 1)

    assert check_bronze(settings, FEED, RUN_DAY).failed_warning == []
