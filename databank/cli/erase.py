"""`databank erase`: one person's erasure, applied at once, by the mechanism the nightly feed uses."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from databank.cli.render import console
from databank.config import load_settings
from databank.keys import MissingKeyError

app = typer.Typer()


@app.command("erase")
def erase_command(
    phone: Annotated[str | None, typer.Option(help="The phone the person was known by.")] = None,
    member_id: Annotated[str | None, typer.Option(help="Their membership number.")] = None,
    one_id: Annotated[str | None, typer.Option(help="Their consumer id (one_id) in the marts.")] = None,
) -> None:
    """Erase a person: their identifiers and one_ids from every table, the warehouse, exports and the
    vault; later deliveries of them suppressed; the request audited (no identifier in clear)."""
    from databank.night_checks import RunInProgressError, one_run_per_data_folder
    from databank.privacy.erasure import apply_erasure, command_request

    if not (phone or member_id or one_id):
        raise typer.BadParameter("name the person: --phone, --member-id or --one-id")
    settings = load_settings()
    try:
        request = command_request(settings, phone=phone, member_id=member_id, one_id=one_id)
        with one_run_per_data_folder(settings), console.status("Erasing"):
            report = apply_erasure(settings, [request])
    except (RunInProgressError, MissingKeyError) as error:
        console.print(f"[bold red]{escape(str(error))}[/]")
        raise typer.Exit(1) from error
    if report.nothing_held:
        console.print(
            f"Request {request.request_id}: no one is held under what was given; their identifiers "
            "are suppressed from now on."
        )
        return
    table = Table("table", "rows removed", title=f"Request {request.request_id}: erased")
    for name, rows in sorted(report.rows_removed.items()):
        table.add_row(name, f"{rows:,}")
    table.caption = (
        f"{report.identifiers_erased} identifier(s) and {report.consumers_erased} consumer id(s); "
        f"{report.vault_keys_destroyed} vault key(s) destroyed"
    )
    console.print(table)
