"""`databank status`: what the last nights ran, what failed and why, and how fresh each table is."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from databank.cli.json_output import print_json
from databank.cli.render import console
from databank.config import load_settings
from databank.status import DEFAULT_DAYS, Night, Status, read_status

app = typer.Typer()


@app.command("status")
def status_command(
    days: Annotated[
        int, typer.Option("--days", min=1, help="The last N business days that have a run.")
    ] = DEFAULT_DAYS,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document on stdout, for scripts.")
    ] = False,
) -> None:
    """The last nights (state, duration, slowest and failed tasks, rows per feed, OneID, quality), the
    published warehouse and gold tables, files that landed late and erasure requests pending.

    Reads Airflow's metadata of `databank run` (<data_dir>/airflow) and the lakehouse; changes nothing.
    """
    settings = load_settings()
    status = read_status(settings, days)
    if as_json:
        print_json(status)
        return
    if not status.nights:
        console.print(f"No night has run yet (no run in {settings.data_dir / 'airflow'}).")
    for night in status.nights:
        _print_night(night)
    _print_data_state(status, settings.tz)


def _print_night(night: Night) -> None:
    """A night: its feeds' rows through each layer, then what was slow, what failed, and how to re-run."""
    took = f", {night.seconds:.0f} s" if night.seconds is not None else ""
    table = Table(
        "feed",
        "state",
        "delivered",
        "bronze",
        "quarantined",
        "suppressed",
        "silver",
        title=f"{night.day}: {night.state}{took}",
    )
    for feed in night.feeds:
        counts = (feed.rows_delivered, feed.rows_bronze, feed.rows_quarantined, feed.rows_suppressed)
        table.add_row(feed.feed, feed.state, *(_count(n) for n in (*counts, feed.rows_silver)))
    console.print(table)
    for line in _night_notes(night):
        console.print(f"  {line}")


def _night_notes(night: Night) -> list[str]:
    notes = ["slowest tasks: " + ", ".join(f"{t.task_id} {t.seconds:.0f} s" for t in night.slowest_tasks)]
    if night.identity:
        identity = night.identity
        notes.append(
            f"OneID: {identity.consumers:,} consumers, {identity.merges} merges, {identity.splits} splits"
        )
    if night.erasure_requests_applied:
        notes.append(f"erasure: {night.erasure_requests_applied} request(s) applied")
    if night.marts_published is not None:
        notes.append(f"marts: {night.marts_published} published")
    if night.upkeep:
        upkeep = night.upkeep
        notes.append(
            f"upkeep: {upkeep['files_before']:,} -> {upkeep['files_after']:,} data files in "
            f"{upkeep['tables']} tables, {upkeep['bytes_reclaimed'] / 2**20:,.1f} MiB reclaimed"
        )
    notes.append(_quality_note(night))
    notes += [
        f"[red]failed[/] {task.task_id}: {escape(task.reason or 'no reason kept, see the run log')}"
        for task in night.failed_tasks
    ]
    if night.rerun:
        notes.append(f"[bold]run it again:[/] {night.rerun}")
    return notes


def _quality_note(night: Night) -> str:
    quality = night.quality
    said = f"quality: {quality.verdict}, {quality.checked} checks"
    if quality.critical_failures:
        said += f", [red]critical failures[/] {escape(', '.join(quality.critical_failures))}"
    if quality.warnings:
        said += f", {len(quality.warnings)} warning(s)"
    return said


def _print_data_state(status: Status, tz: ZoneInfo) -> None:
    console.print(f"Published warehouse: run date {status.warehouse_run_date or 'none yet'}.")
    gold = Table("gold table", "version", f"written ({tz.key})", title="Gold Delta tables")
    for table in status.gold_tables:
        gold.add_row(table.name, str(table.version), f"{table.written_at.astimezone(tz):%Y-%m-%d %H:%M:%S}")
    console.print(gold)
    if status.late_files:
        console.print(f"[bold yellow]{len(status.late_files)} file(s) landed after their night ran:[/]")
        for late in status.late_files:
            console.print(f"  {late.feed} {late.day}: {escape(late.file)}")
        console.print(f"  pick them up with: {status.late_files_rerun}")
    else:
        console.print("No late file: every file of a night that succeeded was ingested.")
    console.print(f"{len(status.pending_erasures)} erasure request(s) pending.")
    for request in status.pending_erasures:
        console.print(
            f"  {escape(request.request_id)}, requested {request.requested_at or 'at an unknown time'}"
        )


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"
