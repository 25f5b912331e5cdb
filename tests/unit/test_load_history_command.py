"""`databank load-history`: what it refuses before any work, and what it is content with (the load
itself: tests/integration/test_history_load.py)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from landed_bank import REQUIRED, keyed_data_dir, land
from typer.testing import CliRunner

from databank import history, night_checks
from databank.cli import app
from databank.config import load_settings

runner = CliRunner()
FIRST, LAST = date(2026, 3, 1), date(2026, 3, 3)


@pytest.fixture
def bank(monkeypatch, tmp_path):
    """Three days of every event feed landed, and a catalogue (brands, products) delivered on the last
    day only, as a brand's export of today; a load that starts fails the test."""
    keyed_data_dir(monkeypatch, tmp_path)
    for day in (FIRST, date(2026, 3, 2), LAST):
        land(tmp_path / "landing", REQUIRED, day)
    land(tmp_path / "landing", ("brands", "products"), LAST)

    def started(*args, **kwargs):
        raise AssertionError("the load started: nothing refused it")

    monkeypatch.setattr(history, "load_history", started)
    return tmp_path


def test_reference_data_delivered_by_the_last_day_is_enough_for_a_history(bank):
    settings = load_settings()

    night_checks.check_history_can_run([FIRST, date(2026, 3, 2), LAST], settings)
    with pytest.raises(night_checks.NightCannotRunError, match="no reference data brands, products"):
        night_checks.check_night_can_run([FIRST], settings)


def test_a_history_ending_before_its_catalogue_is_refused_naming_it(bank):
    result = runner.invoke(app, ["load-history", "--start", str(FIRST), "--end", "2026-03-02"])

    said = " ".join(result.output.split())
    assert result.exit_code == 1, said
    assert "History 2026-03-01 to 2026-03-02 not loaded" in said
    assert "no reference data brands, products delivered on or before 2026-03-02" in said
    assert not (bank / "lakehouse").exists()


def test_a_history_starting_before_the_dags_first_day_is_refused_naming_the_setting(bank, monkeypatch):
    monkeypatch.setenv("DATABANK_PIPELINE__START_DATE", "2026-03-02")

    result = runner.invoke(app, ["load-history", "--start", str(FIRST), "--end", str(LAST)])

    said = " ".join(result.output.split())
    assert result.exit_code == 1, said
    assert "2026-03-01 is before the first business day 2026-03-02" in said
    assert "DATABANK_PIPELINE__START_DATE" in said


def test_a_history_ending_before_the_published_night_is_refused(bank):
    warehouse = load_settings().warehouse
    warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.aipl_daily_funnel AS SELECT DATE '2026-03-04' AS funnel_date")

    result = runner.invoke(app, ["load-history", "--start", str(FIRST), "--end", str(LAST)])

    said = " ".join(result.output.split())
    assert result.exit_code == 1, said
    assert "the warehouse is published for 2026-03-04, after 2026-03-03" in said
    assert "End the history on or after 2026-03-04" in said


@pytest.mark.parametrize(
    "arguments",
    [
        ["--start", "2026-03-03", "--end", "2026-03-01"],
        ["--start", "2026-03-01"],
        ["--batch-days", "0"],
        ["--batch-mb", "0"],
    ],
)
def test_a_range_must_be_given_in_order_and_batches_hold_a_day_and_a_megabyte(bank, arguments):
    result = runner.invoke(app, ["load-history", *arguments])

    assert result.exit_code == 2
    assert not (bank / "lakehouse").exists()


def test_a_days_weight_in_a_batch_is_what_was_delivered_for_it_over_the_brands_feeds(bank):
    settings = load_settings()
    landing = bank / "landing"
    sub_folder = landing / REQUIRED[0] / "dt=2026-03-03" / "part-0"
    sub_folder.mkdir()
    (sub_folder / "late.csv").write_bytes(b"x" * 1000)
    (landing / "brands" / "dt=2026-03-03" / "brands.csv").write_bytes(b"x" * 20)
    stray = landing / "not_a_feed" / "dt=2026-03-03"
    stray.mkdir(parents=True)
    (stray / "stray.csv").write_bytes(b"x" * 300)

    assert history.delivered_bytes(settings, LAST) == 1020  # the stray folder is no feed of the brand's
    assert history.delivered_bytes(settings, date(2026, 3, 4)) == 0  # nothing landed: no folder
