"""What the `databank` commands share: the console, day arguments, progress bars and the tables they print."""

from __future__ import annotations

from datetime import date, datetime

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from databank.audiences import AudienceSize
from databank.audiences.profile import DIMENSIONS, AudienceProfile
from databank.config import Settings
from databank.generator import GenerationSummary
from databank.night_report import FLOW_LAG_DAYS, NightReport
from databank.night_runner import DayRun
from databank.reach.sync import SyncReport
from databank.resources import checkout_folder, dbt_project_folder

console = Console()


def parse_day(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a day in the form YYYY-MM-DD") from error


def days_progress(shown: Console) -> Progress:
    """A bar counting days done, its description the day at hand, with the time elapsed."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=shown,
    )


def day_summary(run: DayRun) -> Table:
    """One day: rows per feed through bronze, quarantine and silver; then what failed or was published."""
    table = Table(
        "feed",
        "files",
        "delivered",
        "bronze",
        "quarantined",
        "silver",
        "quality",
        title=(
            f"{run.day}: {run.state}, {run.ran} tasks run, {run.skipped} skipped, "
            f"{run.rows_delivered:,} rows delivered, {run.seconds:.0f} s"
        ),
    )
    feeds = sorted({task.task_id.split(".")[0] for task in run.tasks if "." in task.task_id})
    for feed in feeds:
        ingested = run.returned.get(f"{feed}.ingest") or {}
        standardised = run.returned.get(f"{feed}.standardise") or {}
        if not ingested:
            state = next((t.state for t in run.tasks if t.task_id == f"{feed}.wait_for_landing"), "")
            table.add_row(feed, "not delivered" if state == "skipped" else state)
            continue
        table.add_row(
            feed,
            str(ingested["files_delivered"]),
            f"{ingested['rows_delivered']:,}",
            f"{ingested['rows_bronze']:,}",
            f"{ingested['rows_quarantined']:,}",
            f"{standardised['rows_silver']:,}" if standardised else "",
            quality_cell(run, feed),
        )
    notes = []
    suppressed = sum((run.returned.get(f"{feed}.ingest") or {}).get("rows_suppressed", 0) for feed in feeds)
    if suppressed:
        notes.append(f"{suppressed:,} rows of erased people suppressed")
    erasure = run.returned.get("apply_erasure_requests")
    if erasure and erasure["requests"]:
        notes.append(
            f"erasure: {erasure['requests']} request(s), {erasure['consumers_erased']} consumer(s) erased"
        )
    identity = run.returned.get("resolve_identity")
    if identity:
        notes.append(f"OneID: {identity['consumers']:,} consumers, {identity['merges']} merges")
    if run.published:
        rows = sum(t["rows"] for t in run.published["tables"].values())
        notes.append(f"published {len(run.published['tables'])} marts ({rows:,} rows)")
        warnings = run.published.get("gold_warnings") or []
        if warnings:
            notes.append(f"gold quality warnings: {', '.join(warnings)}")
    notes += [
        f"{task.task_id} {task.state}" for task in run.tasks if task.state in ("failed", "upstream_failed")
    ]
    table.caption = "; ".join(notes)
    return table


def quality_cell(run: DayRun, feed: str) -> str:
    """The feed's bronze and silver gates in a few words: checks run, warnings, critical failures."""
    gates = [run.returned.get(f"{feed}.check_{stage}") for stage in ("bronze", "silver")]
    gates = [gate for gate in gates if gate]
    if not gates:
        return ""
    checked = sum(gate["checked"] for gate in gates)
    warnings = sum(len(gate["failed_warning"]) for gate in gates)
    return f"{checked} checks" + (f", {warnings} warning(s)" if warnings else ", all passed")


def print_generation_summary(summary: GenerationSummary, seconds: float) -> None:
    rows = Table("feed", "rows", title=f"Generated in {seconds:.1f} s: {summary.files:,} files")
    for feed, count in sorted(summary.rows.items(), key=lambda kv: -kv[1]):
        rows.add_row(feed, f"{count:,}")
    console.print(rows)
    if summary.defects:
        defects = Table("defect", "count", title="Damaged on purpose (logged in _truth/defects.parquet)")
        for kind, count in sorted(summary.defects.items(), key=lambda kv: -kv[1]):
            defects.add_row(kind, f"{count:,}")
        console.print(defects)


def print_night_report(report: NightReport) -> None:
    funnel = Table(
        "brand", "A", "I", "P", "L", "assets", "A→I", "I→P", "P→L", title=f"AIPL funnel on {report.day}"
    )
    for row in report.funnel:
        funnel.add_row(
            row["brand"],
            *(f"{row[state]:,}" for state in ("a", "i", "p", "l", "asset_total")),
            *(percent(row[rate]) for rate in ("rate_a_to_i", "rate_i_to_p", "rate_p_to_l")),
        )
    console.print(funnel)
    if report.flow:
        flow = Table(
            "brand",
            "state",
            "a week ago",
            "stayed",
            "moved up",
            "moved down",
            "left",
            "came in",
            title=f"Flow over the last week ({report.flow[0]['d0']} → {report.day})",
        )
        for row in report.flow:
            flow.add_row(
                row["brand"],
                row["state"],
                *(f"{row[c]:,}" for c in ("consumers_d0", "stayed", "converted_up", "converted_down")),
                *(f"{row[c]:,}" for c in ("churned", "new_inflow")),
            )
        console.print(flow)
    else:
        console.print(f"No flow over a week yet: the warehouse holds less than {FLOW_LAG_DAYS + 1} days.")
    identified = Table(
        "feed",
        "records",
        "resolved to a OneID",
        "identified as a person",
        title=f"Identification on {report.day}",
    )
    for row in report.identification:
        identified.add_row(
            row["source_feed"],
            f"{row['records']:,}",
            percent(row["resolution_rate"]),
            percent(row["identification_rate"]),
        )
    console.print(identified)


def percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.1%}"


def print_where_next(settings: Settings) -> None:
    """Where the demo's results are, as commands and paths that work from a checkout or a wheel."""
    notebooks = checkout_folder() / "notebooks"
    console.print(
        "\nWhere to look next:"
        f"\n  warehouse (DuckDB, open it read-only)  {settings.warehouse}"
        f"\n  gold Delta tables                      {settings.lakehouse / 'gold'}"
        f"\n  quality report                         {settings.reports / 'quality' / 'index.html'}"
        f"\n  docs site: models, columns, lineage    {settings.reports / 'docs' / 'index.html'}"
        f"\n  run logs and Airflow metadata          {settings.data_dir / 'airflow'}"
        f"\n  feeds as delivered, and their truth    {settings.landing}"
        "\n  dashboard                              databank dashboard"
        "\n  the runs in Airflow's UI               databank airflow"
        + (f"\n  analyst notebooks                      {notebooks}" if notebooks.is_dir() else "")
        + "\n  audiences: size, profile, sync         databank audience list"
        f"\n  marts and how to read them             {dbt_project_folder() / 'README.md'}"
    )


def audience_size_table(size: AudienceSize) -> Table:
    table = Table(
        "consumers",
        "count",
        title=f"Audience {size.name} on {size.run_date}, purpose {size.purpose} (needs {size.consent_flag})",
    )
    table.add_row("matched", f"{size.matched:,}")
    table.add_row("excluded, no consent", f"{size.excluded_no_consent:,}")
    table.add_row("consenting: exportable", f"{size.consenting:,}")
    table.caption = (
        "export allowed"
        if size.export_allowed
        else f"export refused: fewer than {size.min_export_size:,} consenting consumers"
    )
    return table


def sync_report_table(report: SyncReport) -> Table:
    """Identifiers added and removed per form (never the identifiers)."""
    table = Table(
        "form",
        "added",
        "removed",
        title=(
            f"Audience {report.audience} to {report.destination} on {report.run_date}: "
            f"{report.consumers:,} consenting consumers"
        ),
    )
    for form in sorted({*report.added, *report.removed}):
        table.add_row(form, f"{report.added.get(form, 0):,}", f"{report.removed.get(form, 0):,}")
    table.caption = (
        f"{report.batches_sent} batches sent, {report.batches_already_taken} taken by an earlier try"
        if report.changed
        else "nothing changed since the last sync: nothing sent"
    )
    if report.not_in_vault:
        table.caption += f"; {report.not_in_vault:,} identifiers not in the vault, not sent"
    return table


def audience_profile_tables(profile: AudienceProfile) -> list[Table]:
    """One table per dimension: consumers and shares in the audience and the base, and TGI."""
    tables = []
    for dimension in DIMENSIONS:
        table = Table(
            dimension,
            "audience",
            "share",
            "base",
            "share",
            "TGI",
            title=(
                f"Audience {profile.name} on {profile.run_date}: {profile.audience:,} consumers; "
                f"base: {profile.base:,} in the funnel of {profile.brand_id}"
            ),
        )
        for row in (r for r in profile.rows if r.dimension == dimension):
            table.add_row(
                row.value,
                f"{row.audience:,}",
                percent(row.audience_share),
                f"{row.base:,}",
                percent(row.base_share),
                "" if row.tgi is None else f"{row.tgi:.0f}",
            )
        tables.append(table)
    return tables
