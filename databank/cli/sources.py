"""`databank sources check`: a dry run of ingestion on sample files, before a source goes live."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from databank.cli.json_output import print_json
from databank.cli.render import console
from databank.config import Settings, load_settings
from databank.contracts import all_contracts
from databank.sources import SourceError, SourceMapping, load_sources

app = typer.Typer(
    no_args_is_help=True, help="Source mappings: a brand's own files into the feeds' contracts."
)


@app.command("check")
def check_command(
    path: Annotated[Path, typer.Argument(exists=True, help="A sample file, or a folder of them.")],
    source: Annotated[
        str | None, typer.Option(help="Read every file by this mapping instead of the one its name matches.")
    ] = None,
    feed: Annotated[
        str | None,
        typer.Option(help="Feed of the files no mapping matches (read as its contract spells it)."),
    ] = None,
    day: Annotated[
        str | None,
        typer.Option(
            "--date", help="Judge times as delivered on this day (late and future); unset: not judged."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document on stdout, for scripts.")
    ] = False,
) -> None:
    """Per file and column: which mapping rule applies, what would parse, what would be quarantined
    and why. Writes nothing; exits 1 when a file would be rejected whole, 2 when a mapping is wrong."""
    settings = load_settings()
    mappings = _mappings(settings, source)
    if feed is not None and feed not in all_contracts():
        raise typer.BadParameter(f"no contract for feed {feed!r}", param_hint="--feed")
    candidates = (mappings[source],) if source else tuple(m for _, m in sorted(mappings.items()))
    reports = _run_check(
        settings,
        _sample_files(path),
        candidates,
        source is not None,
        feed,
        date.fromisoformat(day) if day else None,
    )
    if as_json:
        print_json({"files": [dataclasses.asdict(r) for r in reports]})
    else:
        for report in reports:
            _print_report(report)
    if any(r.rejected_whole for r in reports):
        raise typer.Exit(1)


@app.command("land")
def land_command(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A history delivered as one file.")
    ],
    source: Annotated[str, typer.Option(help="The source mapping that reads the file.")],
) -> None:
    """Split a history file into the day folders `databank load-history` reads: each record, as
    delivered, into <landing>/<feed>/dt=<the local day of its event time>/<the file's name>. A record
    whose time does not read goes to the last day, where ingestion quarantines it with its reason.
    Writes nothing when a day folder already holds a file of that name."""
    from databank.source_landing import LandingRefusedError, land_file

    settings = load_settings()
    mappings = _mappings(settings, source)
    try:
        landed = land_file(path, mappings[source], settings.landing, settings.tz)
    except LandingRefusedError as error:
        console.print(f"[bold red]{escape(path.name)} not landed:[/] {escape(str(error))}")
        raise typer.Exit(1) from error
    days = list(landed.days)
    console.print(
        f"[green]Landed[/] {landed.records:,} records of {escape(path.name)} into {len(days):,} day "
        f"folders of {escape(str(landed.feed_folder))}, {days[0]} to {days[-1]}."
    )
    if landed.without_time:
        console.print(
            f"[yellow]{landed.without_time:,} records without a readable time[/] went to {days[-1]}, "
            "where ingestion quarantines them with their reason."
        )


def _sample_files(path: Path) -> list[tuple[Path, Path]]:
    """(file, its path within the sample folder) of every file to check."""
    path = path.absolute()  # Spark's JVM may have started in another working directory
    if path.is_file():
        return [(path, Path(path.name))]
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return [(p, p.relative_to(path)) for p in files]


def _run_check(settings, files, candidates, forced, feed, day):
    from databank.spark_session import build_session
    from spark_jobs.check_sources import check_files

    with console.status("Reading the samples"):
        spark = build_session(settings, "databank sources check")
        return check_files(spark, settings, files, candidates, feed, day, forced=forced)


def _print_report(report) -> None:
    if report.rejected_whole:
        console.print(f"[bold red]{escape(report.file)}: rejected whole ({report.rejected_whole})[/]")
        return
    read_as = report.source or "the contract's own shape"
    title = (
        f"{report.file} -> {report.feed} (read by {read_as}; {report.file_format}, "
        f"{report.encoding or 'binary'}{', ' + report.compression if report.compression else ''}"
        f"{', fields ' + report.fields if report.fields else ''}): "
        f"{report.records:,} records, {report.valid:,} valid, {report.quarantined:,} quarantined"
    )
    table = Table("column", "filled by", "rules", "identifier", "values", "quarantined", title=escape(title))
    for column in report.columns:
        quarantined = ", ".join(f"{n:,} {reason}" for reason, n in sorted(column.quarantined.items()))
        table.add_row(
            column.name,
            escape(column.filled_by),
            escape("; ".join(column.rules)),
            column.identifier or "",
            f"{column.values:,}",
            quarantined,
        )
    notes = [f"{n:,} {reason}" for reason, n in sorted(report.record_reasons.items())]
    if notes:
        table.caption = "whole records: " + ", ".join(notes)
    console.print(table)
    if report.extra_columns:
        console.print(f"  kept aside (recorded, not read): {escape(', '.join(report.extra_columns))}")


def _mappings(settings: Settings, source: str | None) -> dict[str, SourceMapping]:
    """The brand's source mappings, `source` among them when named; exit 2 when one is wrong."""
    try:
        mappings = load_sources(settings.ingest.sources)
    except SourceError as error:
        console.print(f"[bold red]{escape(str(error))}[/]")
        raise typer.Exit(2) from error
    if source is not None and source not in mappings:
        known = ", ".join(sorted(mappings)) or f"none in {settings.ingest.sources}"
        raise typer.BadParameter(f"no source mapping {source!r} (known: {known})", param_hint="--source")
    return mappings
