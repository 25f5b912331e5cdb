"""`databank load-history`: a brand's history, years of deliveries, loaded in one go (`databank.history`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from databank.business_days import days_between
from databank.cli.render import console, parse_day
from databank.config import Settings, load_settings
from databank.history import HistoryLoad

app = typer.Typer()


@app.command("load-history")
def load_history_command(
    start: Annotated[str, typer.Option(help="First day of the history, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Last day of the history (inclusive), YYYY-MM-DD.")],
    batch_days: Annotated[
        int, typer.Option(min=1, help="At most this many days ingested and standardised per Spark job.")
    ] = 92,
    batch_mb: Annotated[
        int,
        typer.Option(
            min=1, help="At most this many megabytes of delivered files per Spark job (a day over it alone)."
        ),
    ] = 128,
) -> None:
    """Load every feed's deliveries from --start to --end in few large Spark jobs, resolve identity
    once and publish the marts once, restated: the lakehouse is left as the nights would leave it,
    with earlier days seen with hindsight (docs/history.md). The nightly runs carry on from --end + 1.
    """
    first, last = parse_day(start), parse_day(end)
    if last < first:
        raise typer.BadParameter(f"--end {last} is before --start {first}")
    settings = load_settings()
    load_with_status(settings, first, last, console, batch_days, batch_mb)
    console.print(
        f"[green]History loaded.[/] Warehouse [bold]{settings.warehouse}[/]; the nightly runs carry on "
        f"from the day after {last} (`databank run --date ...`)."
    )


def load_with_status(
    settings: Settings, first: date, last: date, shown: Console, batch_days: int = 92, batch_mb: int = 128
) -> HistoryLoad:
    """Load the history from `first` to `last`, its progress and then what it loaded shown on `shown`;
    exit 1, naming the problem, when it cannot run or fails."""
    from databank.history import load_history
    from databank.marts import MartsBuildError
    from databank.night_checks import (
        NightCannotRunError,
        RunInProgressError,
        check_history_can_run,
        one_run_per_data_folder,
    )
    from spark_jobs.ingest_feed import RowsLostError

    try:
        with one_run_per_data_folder(settings):
            check_history_can_run(days_between(first, last), settings)
            with shown.status(f"Loading the history {first} to {last}") as status:
                load = load_history(settings, first, last, batch_days, batch_mb, on_progress=status.update)
    except (RunInProgressError, NightCannotRunError, RowsLostError, MartsBuildError) as error:
        problems = "".join(f"\n  - {escape(line)}" for line in str(error).splitlines())
        shown.print(f"[bold red]History {first} to {last} not loaded:[/]{problems}")
        raise typer.Exit(1) from error
    _print_load(load, shown)
    return load


def _print_load(load: HistoryLoad, shown: Console) -> None:
    table = Table(
        "feed",
        "days",
        "delivered",
        "bronze",
        "quarantined",
        "suppressed",
        "silver",
        title=f"History {load.first} to {load.last}: feeds in {load.seconds['feeds']:.0f} s, identity in "
        f"{load.seconds['identity']:.0f} s ({load.consumers:,} consumers), marts in "
        f"{load.seconds['marts']:.0f} s, housekeeping in {load.seconds['housekeeping']:.0f} s",
    )
    for feed, loaded in load.feeds.items():
        table.add_row(
            feed,
            str(loaded.days),
            *(
                f"{n:,}"
                for n in (
                    loaded.rows_delivered,
                    loaded.rows_bronze,
                    loaded.rows_quarantined,
                    loaded.rows_suppressed,
                    loaded.rows_silver,
                )
            ),
        )
    shown.print(table)
    if load.erasures_applied:
        shown.print(f"{load.erasures_applied} erasure request(s) applied.")
    for warning in load.marts["gold_warnings"]:
        shown.print(f"[yellow]gold warning[/]: {escape(warning)}")
