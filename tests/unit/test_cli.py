"""The `databank` command line: help everywhere, generation with progress, clear errors."""

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from databank.cli import app, demo
from databank.night_report import NightReport

runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["generate"], ["demo"], ["config"], ["eval"], ["eval", "identity"]])
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_generate_writes_feeds_and_truth_and_reports_rows(tmp_path):
    out = tmp_path / "landing"

    result = runner.invoke(
        app,
        [
            "generate",
            "--out",
            str(out),
            "--consumers",
            "60",
            "--days",
            "2",
            "--start",
            "2026-06-01",
            "--seed",
            "3",
        ],
    )

    assert result.exit_code == 0, result.output
    summary = json.loads((out / "_truth" / "summary.json").read_text())
    assert summary["args"]["consumers"] == "60"
    assert summary["rows"]["media_exposures"] > 0
    assert (out / "online_events" / "dt=2026-06-02").is_dir()
    assert "media_exposures" in result.output


def test_generate_rejects_a_malformed_start_day(tmp_path):
    result = runner.invoke(app, ["generate", "--out", str(tmp_path), "--start", "01/06/2026"])

    assert result.exit_code != 0
    assert "YYYY-MM-DD" in result.output


@pytest.fixture
def nights_run(monkeypatch) -> list[date]:
    """The days the demo hands to the history load, then to the nightly run (both run for real by the
    wheel's demo test, tests/integration/test_wheel.py), in order."""
    ran: list[date] = []

    def load_with_status(settings, first: date, last: date, shown) -> None:
        ran.extend([first, last])

    monkeypatch.setattr(demo, "load_with_status", load_with_status)
    monkeypatch.setattr(demo, "run_with_progress", lambda days, settings: ran.extend(days))
    monkeypatch.setattr(demo, "night_report", lambda warehouse: NightReport(ran[-1], [], [], []))
    return ran


def test_demo_loads_the_days_before_the_last_as_history_then_runs_the_last_night(
    tmp_path, monkeypatch, nights_run
):
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("DATABANK_DEMO__CONSUMERS", "50")
    monkeypatch.setenv("DATABANK_DEMO__DAYS", "4")

    result = runner.invoke(app, ["demo"])

    assert result.exit_code == 0, result.output
    # the history 2026-05-01 to 2026-05-03, then the night of 2026-05-04
    assert nights_run == [date(2026, 5, 1), date(2026, 5, 3), date(2026, 5, 4)]
    assert "Loading 2026-05-01 to 2026-05-03 as the brand's history" in " ".join(result.output.split())
    assert "AIPL funnel on 2026-05-04" in result.output
    assert "Where to look next" in result.output
    summary = json.loads((tmp_path / "landing" / "_truth" / "summary.json").read_text())
    assert summary["args"]["consumers"] == "50"
    assert "_truth" in result.output
    key = tmp_path / "config" / "databank" / "hmac.key"
    assert len(key.read_text().strip()) == 64
    assert "pseudonymisation key" in result.output


def test_demo_keeps_an_existing_key(tmp_path, monkeypatch, nights_run):
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABANK_DEMO__CONSUMERS", "20")
    monkeypatch.setenv("DATABANK_DEMO__DAYS", "2")
    monkeypatch.setenv("DATABANK_HMAC_KEY_FILE", str(tmp_path / "keys" / "hmac.key"))
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "hmac.key").write_text("brand-key\n")
    (tmp_path / "keys" / "hmac.key").chmod(0o600)

    result = runner.invoke(app, ["demo"])

    assert result.exit_code == 0, result.output
    assert (tmp_path / "keys" / "hmac.key").read_text() == "brand-key\n"
    assert "pseudonymisation key" not in result.output


def test_identity_evaluation_without_generated_truth_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path))

    result = runner.invoke(app, ["eval", "identity"])

    assert result.exit_code != 0
    assert "no ground truth" in result.output
