"""`databank housekeeping`: the upkeep pass of the nightly DAG's last task, run by hand."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from databank.cli.json_output import print_json
from databank.cli.render import console
from databank.config import load_settings

app = typer.Typer()


@app.command("housekeeping")
def housekeeping_command(
    day: Annotated[
        str | None,
        typer.Option("--date", help="Run date retention counts back from (default: the business day today)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document on stdout, for scripts.")
    ] = False,
) -> None:
    """Compact small files and vacuum old ones on every lakehouse table, and apply the retention policy
    of the `housekeeping` settings (quarantine raw text, landing folders), holding the data folder like
    a run."""
    from databank.housekeeping import keep_lakehouse
    from databank.night_checks import RunInProgressError, one_run_per_data_folder

    settings = load_settings()
    try:
        run_date = date.fromisoformat(day) if day else datetime.now(settings.tz).date()
    except ValueError as error:
        raise typer.BadParameter(f"--date {day!r} is not a date (YYYY-MM-DD)") from error
    try:
        with one_run_per_data_folder(settings), console.status("Keeping the lakehouse"):
            result = keep_lakehouse(settings, run_date)
    except RunInProgressError as error:
        console.print(f"[bold red]{escape(str(error))}[/]")
        raise typer.Exit(1) from error
    if as_json:
        print_json(result.summary())
        return
    table = Table("table", "files before", "files after", "MiB reclaimed", "raw texts cleared")
    for name, upkeep in sorted(result.tables.items()):
        table.add_row(
            name,
            f"{upkeep.files_before:,}",
            f"{upkeep.files_after:,}",
            f"{upkeep.bytes_reclaimed / 2**20:,.2f}",
            f"{upkeep.raw_texts_cleared:,}",
        )
    summary = result.summary()
    table.caption = (
        f"{summary['files_before']:,} -> {summary['files_after']:,} data files; "
        f"{summary['landing_folders_deleted']} landing folder(s), "
        f"{summary['lineage_files_deleted']} lineage event file(s) and "
        f"{summary['map_snapshots_deleted']} identity map snapshot(s) deleted"
    )
    console.print(table)
