"""`databank audience`: list, size, profile, export, save and sync the audiences defined in YAML."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from databank.audiences import (
    Audience,
    AudienceError,
    AudienceSize,
    export_audience,
    list_audiences,
    size_audience,
)
from databank.audiences.activation import ExportFormat
from databank.audiences.definition import save_definition, validate_definition
from databank.audiences.profile import profile_audience
from databank.cli.json_output import print_json
from databank.cli.render import (
    audience_profile_tables,
    audience_size_table,
    console,
    parse_day,
    sync_report_table,
)
from databank.config import Purpose, load_settings
from databank.reach.destinations import DeliveryError
from databank.reach.sync import sync_audience

app = typer.Typer(
    help="Audiences: defined in YAML, sized, exported and synced to destinations (consenting consumers).",
    no_args_is_help=True,
)


AsJson = Annotated[bool, typer.Option("--json", help="One JSON document on stdout, for scripts.")]


@app.command("list")
def audience_list_command(as_json: AsJson = False) -> None:
    """List the audience definitions of the configured folder, and why any of them does not load."""
    settings = load_settings()
    try:
        listed = list_audiences(settings.audiences.folder)
    except AudienceError as error:
        raise _audience_failed(error, as_json) from error
    if as_json:
        print_json([_listed_json(name, audience) for name, audience in listed])
        return
    table = Table(
        "name",
        "brand",
        "purpose",
        "description",
        title=f"Audiences in {escape(str(settings.audiences.folder))}",
    )
    for name, audience in listed:
        if isinstance(audience, AudienceError):
            table.add_row(name, "", "", Text(f"invalid: {audience}", style="red"))
        else:
            definition = audience.definition
            table.add_row(name, definition.brand_id, definition.purpose, Text(definition.description))
    console.print(table)


AudienceName = Annotated[str, typer.Argument(help="The audience: <audiences folder>/<name>.yaml.")]
AudienceDay = Annotated[
    str | None, typer.Option("--date", help="Run day, YYYY-MM-DD; default: the warehouse's latest.")
]


@app.command("size")
def audience_size_command(name: AudienceName, day: AudienceDay = None, as_json: AsJson = False) -> None:
    """Consumers the audience matches, how many consent to its purpose, and whether it may be exported."""
    settings = load_settings()
    run_date = parse_day(day) if day else None
    try:
        size = size_audience(settings, name, run_date)
    except AudienceError as error:
        raise _audience_failed(error, as_json) from error
    if as_json:
        print_json(_size_json(size))
        return
    console.print(audience_size_table(size))


@app.command("export")
def audience_export_command(
    name: AudienceName,
    file_format: Annotated[
        ExportFormat, typer.Option("--format", help="File of activation keys.")
    ] = "parquet",
    day: AudienceDay = None,
) -> None:
    """Write the activation keys of the consenting consumers, a manifest beside them, and a log line."""
    settings = load_settings()
    run_date = parse_day(day) if day else None
    try:
        export = export_audience(settings, name, file_format, run_date)
    except AudienceError as error:
        raise _audience_failed(error) from error
    console.print(audience_size_table(export.size))
    console.print(
        f"Exported {export.size.consenting:,} consumers to [bold]{escape(str(export.file))}[/] "
        f"(sha256 {export.sha256[:12]}…); manifest [bold]{escape(str(export.manifest))}[/], "
        f"logged in {escape(str(export.log))}."
    )


@app.command("save")
def audience_save_command(
    name: AudienceName,
    brand_id: Annotated[str, typer.Option("--brand", help="The brand, e.g. B01.")],
    purpose: Annotated[Purpose, typer.Option(help="What exports of it are for.")],
    states: Annotated[
        str | None, typer.Option(help="Funnel states on the run day, comma-separated: none,O,A,I,P,L.")
    ] = None,
    flow: Annotated[
        str | None, typer.Option(help="A cell of aipl_flow, STATE_D0:STATE_D1:LAG_DAYS, e.g. I:P:7.")
    ] = None,
    description: Annotated[str, typer.Option(help="What the audience is for.")] = "",
    replace: Annotated[bool, typer.Option(help="Replace an audience of that name.")] = False,
) -> None:
    """Save a funnel state or a cell of the AIPL flow as an audience definition."""
    settings = load_settings()
    if (states is None) == (flow is None):
        raise _audience_failed(AudienceError("give --states or --flow (one of them)"))
    criteria: dict[str, Any] = {"aipl_states": states.split(",")} if states else {}
    if flow:
        d0, _, rest = flow.partition(":")
        d1, _, lag = rest.partition(":")
        criteria["aipl_flow"] = {
            "state_d0": d0,
            "state_d1": d1,
            "lag_days": int(lag) if lag.isdigit() else lag,
        }
    fields = {"description": description, "brand_id": brand_id, "purpose": purpose, **criteria}
    try:
        definition = validate_definition(fields, f"audience {name!r}")
        path = save_definition(settings.audiences.folder, name, definition, replace=replace)
    except AudienceError as error:
        raise _audience_failed(error) from error
    console.print(
        f"Saved [bold]{escape(name)}[/] to {escape(str(path))}: `databank audience size {escape(name)}`"
    )


@app.command("profile")
def audience_profile_command(name: AudienceName, day: AudienceDay = None, as_json: AsJson = False) -> None:
    """Who the audience is next to the brand's base: by AIPL state, home city, lifecycle stage and RFM
    class, with each value's share of both and its TGI (100 = as common as in the base)."""
    settings = load_settings()
    run_date = parse_day(day) if day else None
    try:
        profile = profile_audience(settings, name, run_date)
    except AudienceError as error:
        raise _audience_failed(error, as_json) from error
    if as_json:
        print_json(dataclasses.asdict(profile))
        return
    for table in audience_profile_tables(profile):
        console.print(table)


@app.command("sync")
def audience_sync_command(
    name: AudienceName,
    destination: Annotated[
        str, typer.Option("--destination", "-d", help="A destination of [reach.destinations].")
    ],
    day: AudienceDay = None,
    as_json: AsJson = False,
) -> None:
    """Send a destination what changed in the audience since its last sync: adds and removes of the
    consenting consumers; run again, it sends only what the destination has not taken yet."""
    settings = load_settings()
    run_date = parse_day(day) if day else None
    try:
        report = sync_audience(settings, name, destination, run_date)
    except (AudienceError, DeliveryError) as error:
        raise _audience_failed(error, as_json) from error
    if as_json:
        print_json({**dataclasses.asdict(report), "changed": report.changed})
        return
    console.print(sync_report_table(report))


def _listed_json(name: str, audience: Audience | AudienceError) -> dict[str, Any]:
    """A definition's fields as the table lists them; only `error` when it does not load."""
    loaded = None if isinstance(audience, AudienceError) else audience.definition
    return {
        "name": name,
        "brand_id": loaded and loaded.brand_id,
        "purpose": loaded and loaded.purpose,
        "description": loaded and loaded.description,
        "error": str(audience) if loaded is None else None,
    }


def _size_json(size: AudienceSize) -> dict[str, Any]:
    """The size's fields and what follows from them, as the table shows them."""
    return {
        **dataclasses.asdict(size),
        "excluded_no_consent": size.excluded_no_consent,
        "export_allowed": size.export_allowed,
    }


def _audience_failed(error: AudienceError | DeliveryError, as_json: bool = False) -> typer.Exit:
    if as_json:  # stdout is the script's JSON: the reason goes to stderr, the exit code says it failed
        typer.echo(str(error), err=True)
    else:
        console.print(Text(str(error), style="bold red"))
    return typer.Exit(1)
