"""`databank run`: the nightly Airflow DAG run in-process for a day or a range of days."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from databank.business_days import days_between
from databank.cli.render import console, day_summary, days_progress, parse_day
from databank.config import Settings, load_settings
from databank.night_runner import DayRun

app = typer.Typer()


@app.command("run")
def run_command(
    day: Annotated[str | None, typer.Option("--date", help="One business day to run, YYYY-MM-DD.")] = None,
    start: Annotated[str | None, typer.Option(help="First day of a range to run, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day of the range (inclusive), YYYY-MM-DD.")] = None,
    wait_minutes: Annotated[
        int, typer.Option(min=0, help="How long to wait for a required feed that has not landed.")
    ] = 0,
) -> None:
    """Run the nightly Airflow DAG in-process for a day or a range of days, in order.

    Airflow's metadata (SQLite) and the run's log are kept under <data_dir>/airflow. Stops at the
    first day that fails and exits non-zero, naming the task and its error.
    """
    if day and (start or end):
        raise typer.BadParameter("give either --date or --start and --end")
    if not day and not (start and end):
        raise typer.BadParameter("give --date D, or --start D1 --end D2")
    first, last = (parse_day(day), parse_day(day)) if day else (parse_day(start), parse_day(end))
    if last < first:
        raise typer.BadParameter(f"--end {last} is before --start {first}")
    days = days_between(first, last)
    settings = load_settings()
    run_with_progress(days, settings, wait_minutes)
    console.print(
        f"[green]{len(days)} day(s) done.[/] Warehouse [bold]{settings.warehouse}[/] (open it read-only)."
    )


def run_with_progress(days: list[date], settings: Settings, wait_minutes: int = 0) -> list[DayRun]:
    """Run the nightly DAG for `days` in order, showing each day's tasks; exit 1 at the first failure,
    before the first task when the nights cannot run, naming what is missing, or at once when another
    run holds the data folder."""
    from databank.night_checks import RunInProgressError, one_run_per_data_folder

    try:
        with one_run_per_data_folder(settings):
            return _run_held(days, settings, wait_minutes)
    except RunInProgressError as error:
        console.print(f"[bold red]{escape(str(error))}[/]")
        raise typer.Exit(1) from error


def _run_held(days: list[date], settings: Settings, wait_minutes: int) -> list[DayRun]:
    from databank.night_checks import NightCannotRunError, check_night_can_run
    from databank.night_runner import output_to, run_days
    from databank.pipeline import airflow_home

    first, last = days[0], days[-1]
    try:
        check_night_can_run(days, settings)
    except NightCannotRunError as error:
        problems = "".join(f"\n  - {escape(line)}" for line in str(error).splitlines())
        console.print(f"[bold red]Cannot run databank_nightly for {first} to {last}:[/]{problems}")
        raise typer.Exit(1) from error
    log_file = airflow_home(settings) / "logs" / f"run-{first}-{last}-{datetime.now():%Y%m%dT%H%M%S}.log"
    console.print(
        f"Running databank_nightly for {len(days)} day(s), {first} to {last}; log: [bold]{log_file}[/]"
    )
    runs: list[DayRun] = []
    with output_to(log_file) as terminal, days_progress(Console(file=terminal)) as progress:
        bar = progress.add_task("days", total=len(days))

        def on_task(run_day: date, task_id: str, state: str) -> None:
            progress.update(bar, description=f"{run_day} {task_id}: {state}")

        def on_day(run: DayRun) -> None:
            runs.append(run)
            progress.advance(bar)
            progress.console.print(day_summary(run))

        run_days(days, wait_minutes=wait_minutes, on_task=on_task, on_day=on_day)
    _report_first_failure(runs, len(days), log_file)
    return runs


def _report_first_failure(runs: list[DayRun], days_asked: int, log_file: Path) -> None:
    """Name the first failed day's failed tasks (or why its run ended) and exit 1; nothing if none failed."""
    failed = next((run for run in runs if run.state != "success"), None)
    if failed is None:
        return
    for task in failed.failed:
        console.print(f"[bold red]{failed.day}: task {task.task_id} failed[/]: {task.error or 'see the log'}")
    if not failed.failed:
        console.print(
            f"[bold red]{failed.day}: the run ended {failed.state}[/]: {failed.reason or 'see the log'}"
        )
    console.print(f"{days_asked - len(runs)} later day(s) not run. Log: {log_file}")
    raise typer.Exit(1)
