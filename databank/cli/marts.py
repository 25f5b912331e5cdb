"""`databank marts`: build the marts with dbt and publish them, printing what was published."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from databank.cli.render import console, parse_day
from databank.config import Settings, load_settings
from databank.marts import BuildResult, MartsBuildError, build_marts

app = typer.Typer()


@app.command("marts")
def marts_command(
    day: Annotated[str, typer.Option("--date", help="Local business day to build, YYYY-MM-DD.")],
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Rebuild every mart from an empty warehouse by replaying each night up to the date: "
            "history as it was known each night (one dbt build per night).",
        ),
    ] = False,
    restate: Annotated[
        bool,
        typer.Option(
            "--restate",
            help="Rebuild every mart in one pass under the date's consumer ids and all data loaded by "
            "then: earlier days' funnels change (merged ids count once, late data on its own day).",
        ),
    ] = False,
) -> None:
    """Build the marts with dbt and publish them: the analyst warehouse and gold Delta tables."""
    if full_refresh and restate:
        console.print("[bold red]Choose one[/]: --full-refresh keeps history as known, --restate rewrites it")
        raise typer.Exit(2)
    settings = load_settings()
    with console.status(f"Building the marts of {day}") as status:
        night = ""

        def on_night(built: date, number: int, nights: int) -> None:
            nonlocal night
            night = f"night {built} ({number} of {nights}) " if nights > 1 else ""

        def on_line(line: str) -> None:
            if " of " in line:  # dbt's progress lines: "12:00:00  3 of 40 OK created ..."
                status.update(f"{night}dbt: {line.split('  ', 1)[-1][:100]}")

        try:
            result = build_marts(
                settings, parse_day(day), full_refresh, restate=restate, on_line=on_line, on_night=on_night
            )
        except MartsBuildError as error:
            console.print(f"[bold red]Build failed[/]: {error}")
            raise typer.Exit(1) from error
    _print_published(result, settings)


def _print_published(result: BuildResult, settings: Settings) -> None:
    table = Table(
        "table",
        "rows",
        "gold partitioned by",
        "partitions written",
        title=f"Marts of {result.run_date} published in {result.seconds:.1f} s "
        f"(dbt {result.dbt_seconds:.1f} s, gold {result.gold_seconds:.1f} s)",
    )
    for published in result.tables:
        table.add_row(
            published.name,
            f"{published.rows:,}",
            published.partition_by or "",
            str(published.partitions_written),
        )
    console.print(table)
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(result.dbt_statuses.items()))
    history = (
        f"history restated under the ids of {result.run_date}"
        if result.restated
        else f"history as known each night ({len(result.nights)} built)"
    )
    console.print(
        f"dbt: {statuses or 'no results'}; {history}. "
        f"Warehouse [bold]{result.warehouse}[/] (open it read-only); "
        f"gold Delta tables under [bold]{settings.lakehouse / 'gold'}[/]."
    )
    if result.gold_warnings:
        console.print(f"[yellow]Gold quality warnings[/]: {escape(', '.join(result.gold_warnings))}")
