"""`databank run`: which days it runs, and what it says when they fail (the DAG itself is faked)."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from databank import night_runner
from databank.cli import app
from databank.night_runner import DayRun, TaskOutcome

runner = CliRunner()


@pytest.fixture
def ran(monkeypatch, tmp_path):
    """Replaces the in-process DAG run: records the days asked for, fails the days listed in `failing`."""
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path))
    calls: dict = {"days": [], "failing": set()}

    def fake_run_days(days, *, wait_minutes=0, on_task=None, on_day=None):
        results = []
        for day in days:
            calls["days"].append(day)
            failed = day in calls["failing"]
            task = TaskOutcome(
                "online_orders.wait_for_landing",
                "failed" if failed else "success",
                0.1,
                "required feed online_orders has not landed" if failed else None,
            )
            on_task(day, task.task_id, task.state)
            result = DayRun(day, "failed" if failed else "success", 1.0, (task,))
            results.append(result)
            on_day(result)
            if failed:
                break
        return results

    monkeypatch.setattr(night_runner, "run_days", fake_run_days)
    return calls


def test_a_range_runs_every_day_in_order(ran):
    result = runner.invoke(app, ["run", "--start", "2026-05-01", "--end", "2026-05-03"])

    assert result.exit_code == 0, result.output
    assert ran["days"] == [date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)]
    assert "3 day(s) done" in " ".join(result.output.split())


def test_a_failed_day_stops_the_range_and_names_the_task(ran):
    ran["failing"].add(date(2026, 5, 2))

    result = runner.invoke(app, ["run", "--start", "2026-05-01", "--end", "2026-05-03"])

    said = " ".join(result.output.split())  # as one line, whatever the terminal's width
    assert result.exit_code == 1
    assert ran["days"] == [date(2026, 5, 1), date(2026, 5, 2)]
    assert (
        "2026-05-02: task online_orders.wait_for_landing failed: required feed online_orders has not landed"
        in said
    )
    assert "1 later day(s) not run" in said


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["--date", "2026-05-01", "--start", "2026-05-01"],
        ["--start", "2026-05-01"],
        ["--start", "2026-05-03", "--end", "2026-05-01"],
        ["--date", "1 May"],
    ],
)
def test_days_must_be_one_date_or_an_ordered_range(ran, arguments):
    result = runner.invoke(app, ["run", *arguments])

    assert result.exit_code == 2
    assert ran["days"] == []


def test_run_has_help():
    result = runner.invoke(app, ["run", "--help"])

    assert result.exit_code == 0
    assert "--start" in result.output


def test_the_day_summary_shows_each_feeds_rows_and_quality_gates():
    from rich.console import Console

    from databank.cli import _day_summary

    def gate(checked: int, warnings: list[str]) -> dict:
        return {"checked": checked, "failed_critical": [], "failed_warning": warnings}

    tasks = tuple(
        TaskOutcome(f"online_orders.{step}", "success", 0.1)
        for step in ("wait_for_landing", "ingest", "check_bronze", "standardise", "check_silver")
    )
    returned = {
        "online_orders.ingest": {
            "files_delivered": 2,
            "rows_delivered": 1200,
            "rows_bronze": 1190,
            "rows_quarantined": 10,
        },
        "online_orders.standardise": {"rows_silver": 1185},
        "online_orders.check_bronze": gate(30, ["bronze.online_orders:unique(order_id)"]),
        "online_orders.check_silver": gate(40, []),
    }
    console = Console(record=True, width=200)

    console.print(_day_summary(DayRun(date(2026, 5, 1), "success", 9.0, tasks, returned)))

    row = next(line for line in console.export_text().splitlines() if "online_orders" in line)
    cells = [cell.strip() for cell in row.split("│")[2:8]]
    assert cells == ["2", "1,200", "1,190", "10", "1,185", "70 checks, 1 warning(s)"]
