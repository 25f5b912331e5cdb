"""`databank run`: which days it runs, and what it says when they fail (the DAG itself is faked)."""

from __future__ import annotations

import fcntl
import shutil
from dataclasses import dataclass, field
from datetime import date

import pytest
import yaml
from landed_bank import REFERENCE, REQUIRED, keyed_data_dir, land
from typer.testing import CliRunner

from databank import night_checks, night_runner, pipeline
from databank.cli import app
from databank.config import load_settings
from databank.dbt_project import find_dbt_project
from databank.night_runner import DayRun, TaskOutcome

runner = CliRunner()


@pytest.fixture
def ran(monkeypatch, tmp_path):
    """Replaces the in-process DAG run and the checks before it: records the days asked for, fails the
    days listed in `failing`."""
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
    monkeypatch.setattr(night_checks, "check_night_can_run", lambda days, config: None)  # tested below
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

    from databank.cli.render import day_summary

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

    console.print(day_summary(DayRun(date(2026, 5, 1), "success", 9.0, tasks, returned)))

    row = next(line for line in console.export_text().splitlines() if "online_orders" in line)
    cells = [cell.strip() for cell in row.split("│")[2:8]]
    assert cells == ["2", "1,200", "1,190", "10", "1,185", "70 checks, 1 warning(s)"]


def test_the_day_summary_names_the_warnings_of_the_marts_gate():
    # A stale feed warns at the gold gate (the night is still published): the summary must say so.
    from rich.console import Console

    from databank.cli.render import day_summary

    published = {
        "tables": {"aipl_daily_funnel": {"rows": 3}},
        "gold_warnings": ["gold.sources:fresh(pos_transactions)"],
    }
    tasks = (TaskOutcome("build_and_publish_marts", "success", 0.1),)
    console = Console(record=True, width=300)

    console.print(
        day_summary(DayRun(date(2026, 5, 1), "success", 9.0, tasks, {"build_and_publish_marts": published}))
    )

    said = " ".join(console.export_text().split())  # the caption wraps to the table's width
    assert "gold quality warnings: gold.sources:fresh(pos_transactions)" in said


# ---- What a night cannot run without, checked once before the first task --------------------------


@pytest.fixture
def bank(monkeypatch, tmp_path):
    """A data dir with a key and the feeds of 2026-03-01 landed; a night that starts fails the test:
    every case here must be refused before Airflow is set up."""
    keyed_data_dir(monkeypatch, tmp_path)
    land(tmp_path / "landing", REQUIRED + REFERENCE, date(2026, 3, 1))

    def started(*args, **kwargs):
        raise AssertionError("the night started: nothing refused it")

    monkeypatch.setattr(night_runner, "_configure_airflow", started)
    pipeline.settings.cache_clear()
    yield tmp_path
    pipeline.settings.cache_clear()


def _refused(result) -> str:
    """What the command said, on one line, once it is known to have failed with a reason."""
    said = " ".join(result.output.split())
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, said
    assert "done" not in said, said
    return said


def test_days_before_a_set_start_date_are_refused_naming_the_setting(bank, monkeypatch):
    monkeypatch.setenv("DATABANK_PIPELINE__START_DATE", "2026-05-01")

    said = _refused(runner.invoke(app, ["run", "--start", "2026-03-01", "--end", "2026-03-04"]))

    assert "2026-03-01 is before the first business day 2026-05-01" in said
    assert "DATABANK_PIPELINE__START_DATE" in said
    assert not (bank / "warehouse").exists()
    assert not (bank / "lakehouse").exists()


def test_days_after_the_end_date_are_refused_naming_the_setting(bank, monkeypatch):
    monkeypatch.setenv("DATABANK_PIPELINE__END_DATE", "2026-03-02")

    said = _refused(runner.invoke(app, ["run", "--start", "2026-03-01", "--end", "2026-03-04"]))

    assert "2026-03-04 is after the last business day 2026-03-02" in said
    assert "DATABANK_PIPELINE__END_DATE" in said


def test_by_default_days_before_the_first_landed_day_are_refused(bank):
    said = _refused(runner.invoke(app, ["run", "--date", "2026-02-28"]))

    assert "2026-02-28 is before the first business day 2026-03-01" in said
    assert f"the first day a required feed landed under {bank / 'landing'}" in said


def test_a_missing_key_is_refused_before_any_task(bank, monkeypatch):
    monkeypatch.delenv("DATABANK_HMAC_KEY")
    monkeypatch.setenv("DATABANK_HMAC_KEY_FILE", str(bank / "no.key"))

    said = _refused(runner.invoke(app, ["run", "--date", "2026-03-01"]))

    assert "No pseudonymisation key: set DATABANK_HMAC_KEY" in said


def test_a_missing_vault_key_is_refused_before_any_task(bank, monkeypatch):
    monkeypatch.delenv("DATABANK_PRIVACY__VAULT_KEY")
    monkeypatch.setenv("DATABANK_PRIVACY__VAULT_KEY_FILE", str(bank / "no-vault.key"))

    said = _refused(runner.invoke(app, ["run", "--date", "2026-03-01"]))

    assert "No vault master key: set DATABANK_PRIVACY__VAULT_KEY" in said


def test_a_missing_landing_root_is_refused_naming_the_setting(bank, monkeypatch):
    monkeypatch.setenv("DATABANK_LANDING_DIR", str(bank / "nowhere"))

    said = _refused(runner.invoke(app, ["run", "--date", "2026-03-01"]))

    assert f"no landing folder {bank / 'nowhere'}" in said
    assert "DATABANK_LANDING_DIR" in said
    assert "databank generate" in said


def test_missing_reference_data_is_refused_naming_each_feed(bank):
    for feed in ("brands", "products"):
        shutil.rmtree(bank / "landing" / feed)

    said = _refused(runner.invoke(app, ["run", "--date", "2026-03-01"]))

    assert "no reference data brands, products delivered on or before 2026-03-01" in said
    assert str(bank / "landing" / "brands" / "dt=") in said


def test_a_brand_without_stores_campaigns_or_keywords_is_not_refused(bank):
    for feed in ("stores", "campaigns", "keywords"):
        shutil.rmtree(bank / "landing" / feed)

    night_checks.check_night_can_run([date(2026, 3, 1)], load_settings())


def test_every_missing_thing_is_named_at_once(bank, monkeypatch):
    monkeypatch.delenv("DATABANK_HMAC_KEY")
    monkeypatch.setenv("DATABANK_HMAC_KEY_FILE", str(bank / "no.key"))
    shutil.rmtree(bank / "landing" / "products")

    said = _refused(runner.invoke(app, ["run", "--date", "2026-03-01"]))

    assert "No pseudonymisation key" in said
    assert "no reference data products" in said


# ---- A day on which nothing ran is no success ------------------------------------------------------


@dataclass
class _FinishedRun:
    state: str
    instances: list = field(default_factory=list)
    run_id: str = "manual__2026-03-02"
    dag_id: str = pipeline.DAG_ID

    def get_task_instances(self):
        return self.instances


def test_a_day_on_which_no_task_ran_is_a_failure_with_the_reason(monkeypatch):
    class NothingToRun:  # what dag.test gives back for a day outside the DAG's dates
        def test(self, logical_date):
            return _FinishedRun("success")

    monkeypatch.setattr(night_runner, "_returned", lambda run: {})

    run = night_runner._run_day(NothingToRun(), date(2026, 3, 1), load_settings(), None)

    assert run.state == "failed"
    assert "no task ran for 2026-03-01" in run.reason


def test_the_day_summary_says_how_many_tasks_ran_and_rows_were_delivered():
    from rich.console import Console

    from databank.cli.render import day_summary

    tasks = (
        TaskOutcome("online_orders.wait_for_landing", "success", 0.1),
        TaskOutcome("online_orders.ingest", "success", 0.1),
        TaskOutcome("brands.wait_for_landing", "skipped", 0.1),
    )
    returned = {
        "online_orders.ingest": {
            "files_delivered": 1,
            "rows_delivered": 1200,
            "rows_bronze": 1200,
            "rows_quarantined": 0,
        }
    }
    console = Console(record=True, width=200)

    console.print(day_summary(DayRun(date(2026, 5, 1), "success", 9.0, tasks, returned)))

    assert "2026-05-01: success, 2 tasks run, 1 skipped, 1,200 rows delivered, 9 s" in console.export_text()


def test_reference_data_in_silver_from_an_earlier_night_is_enough(bank):
    shutil.rmtree(bank / "landing" / "brands")
    (bank / "lakehouse" / "silver" / "brands" / "_delta_log").mkdir(parents=True)

    night_checks.check_night_can_run([date(2026, 3, 2)], load_settings())


def test_the_reference_checked_before_a_night_is_what_the_marts_read_and_cannot_do_without():
    sources = [
        source
        for path in (find_dbt_project() / "models").rglob("_*__sources.yml")
        for source in yaml.safe_load(path.read_text())["sources"]
        if source["name"] == "reference"
    ]

    read = {table["name"] for source in sources for table in source["tables"]}

    assert set(night_checks.REFERENCE_SNAPSHOTS) == {"brands", "products"} < read


def test_a_day_that_ran_nothing_says_why(ran, monkeypatch):
    reason = "no task ran for 2026-05-01: the DAG makes no task for a day outside its dates"

    def nothing_ran(days, *, wait_minutes=0, on_task=None, on_day=None):
        on_day(DayRun(days[0], "failed", 0.1, (), reason=reason))

    monkeypatch.setattr(night_runner, "run_days", nothing_ran)

    result = runner.invoke(app, ["run", "--date", "2026-05-01"])

    said = " ".join(result.output.split())
    assert result.exit_code == 1
    assert f"2026-05-01: the run ended failed: {reason}" in said
    assert "done" not in said


def test_a_second_run_over_the_same_data_folder_is_refused_at_once(ran, tmp_path):
    with (tmp_path / night_checks.RUN_LOCK).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a run in another process

        result = runner.invoke(app, ["run", "--date", "2026-05-01"])

    assert result.exit_code == 1
    assert "Another databank run is working on" in " ".join(result.output.split())
    assert ran["days"] == []
    assert runner.invoke(app, ["run", "--date", "2026-05-01"]).exit_code == 0  # released: runs again
