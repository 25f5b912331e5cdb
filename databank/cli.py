"""The `databank` command line."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from databank.cli_audience import audience_app
from databank.cli_support import (
    console,
    day_summary,
    parse_day,
    print_generation_summary,
    print_night_report,
    print_where_next,
)
from databank.config import Settings, ensure_demo_key, load_settings
from databank.dashboard.launch import dashboard_url, serve
from databank.evaluation import evaluate_identity, write_report
from databank.generator import GenerateArgs, GenerationSummary, generate
from databank.generator.generate import TRUTH_DIR
from databank.marts import MartsBuildError, build_marts
from databank.night_report import night_report
from databank.night_runner import DayRun

app = typer.Typer(
    help="databank: a consumer data bank for retail brands (nightly lakehouse, OneID, AIPL funnel).",
    no_args_is_help=True,
    add_completion=False,
)
eval_app = typer.Typer(
    help="Measure the data bank against the generator's ground truth.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")
app.add_typer(audience_app, name="audience")

PRIVATE_UMASK = 0o027  # files 0640, folders 0750: the owner and its service group, nobody else


@app.callback()
def _private_files() -> None:
    # Everything a command writes (lakehouse, warehouse, exports, reports, Airflow's metadata and
    # admin password), and what its Spark, dbt and Airflow child processes write, stays off limits to
    # the machine's other users.
    os.umask(PRIVATE_UMASK)


@app.command("generate")
def generate_command(
    out: Annotated[
        Path | None, typer.Option(help="Landing folder to write; default: the configured landing.")
    ] = None,
    consumers: Annotated[int | None, typer.Option(min=1, help="People in the brand group.")] = None,
    days: Annotated[int | None, typer.Option(min=1, help="Local days of feeds.")] = None,
    start: Annotated[str | None, typer.Option(help="First local day, YYYY-MM-DD.")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random seed; same arguments give identical files.")
    ] = None,
    bad_rate: Annotated[
        float | None, typer.Option(min=0, max=0.5, help="Share of records damaged on purpose.")
    ] = None,
) -> None:
    """Write synthetic feeds of a multi-channel brand group, with the ground truth under _truth/."""
    settings = load_settings()
    demo = settings.demo
    args = GenerateArgs(
        out=out or settings.landing,
        consumers=consumers or demo.consumers,
        days=days or demo.days,
        start=parse_day(start) if start else demo.start,
        seed=demo.seed if seed is None else seed,
        bad_rate=demo.bad_rate if bad_rate is None else bad_rate,
        timezone=settings.business_timezone,
    )
    _generate_with_progress(args)


@app.command("demo")
def demo_command(
    consumers: Annotated[int | None, typer.Option(min=1, help="People in the demo brand group.")] = None,
    days: Annotated[int | None, typer.Option(min=2, help="Local days to generate and run.")] = None,
) -> None:
    """The whole system on a demo brand group: generate its feeds, run the nightly DAG for every day,
    then print the last day's AIPL funnel, the week's flow and the identification rate."""
    settings = load_settings()
    demo = settings.demo
    args = GenerateArgs(
        out=settings.landing,
        consumers=consumers or demo.consumers,
        days=days or demo.days,
        start=demo.start,
        seed=demo.seed,
        bad_rate=demo.bad_rate,
        timezone=settings.business_timezone,
    )
    started = time.perf_counter()
    _generate_with_progress(args)
    created = ensure_demo_key(settings)
    if created:
        console.print(
            f"Created a local pseudonymisation key at [bold]{created}[/] for the demo. "
            "A brand's installation sets its own in DATABANK_HMAC_KEY (or that file) and keeps it secret: "
            "every stored identifier is an HMAC under it."
        )
    _run_with_progress([args.start + timedelta(days=n) for n in range(args.days)], settings)
    print_night_report(night_report(settings.warehouse))
    console.print(f"\n[green]Demo done in {(time.perf_counter() - started) / 60:.1f} min.[/]")
    print_where_next(settings)


@app.command("config")
def config_command() -> None:
    """Show the configuration in force (file, environment, defaults) and the paths it resolves to."""
    settings = load_settings()
    table = Table("setting", "value", title="databank configuration")
    for name, value in settings.model_dump().items():
        table.add_row(name, str(value))
    for name in ("landing", "lakehouse", "warehouse", "reports"):
        table.add_row(f"→ {name}", str(getattr(settings, name)))
    console.print(table)


@app.command("dashboard")
def dashboard_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8501,
    address: Annotated[
        str, typer.Option(help="Address to listen on; 127.0.0.1 serves this machine only.")
    ] = "127.0.0.1",
) -> None:
    """Serve the AIPL dashboard over the published warehouse (read-only) until interrupted."""
    settings = load_settings()
    console.print(
        f"Dashboard at [bold]{dashboard_url(address, port)}[/] over [bold]{settings.warehouse}[/] "
        "(read-only; a newly published night shows on the next page load). Ctrl-C stops it."
    )
    raise typer.Exit(serve(settings, address, port))


@eval_app.command("identity")
def eval_identity_command(
    day: Annotated[
        str | None, typer.Option("--date", help="Identity map of this day; default: the latest.")
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="Ground-truth folder; default: <landing>/_truth.")
    ] = None,
) -> None:
    """OneID against the truth: B-cubed precision, recall and F1, largest clusters, identification rates."""
    settings = load_settings()
    truth_dir = truth or settings.landing / TRUTH_DIR
    if not (truth_dir / "records.parquet").is_file():
        raise typer.BadParameter(f"no ground truth in {truth_dir}: evaluation needs generated feeds")
    with console.status("Evaluating identity resolution"):
        figures = evaluate_identity(settings, truth_dir, parse_day(day) if day else None)
    scores = Table("measure", "value", title=f"OneID as of {figures['as_of']}")
    for key in (
        "records_evaluated",
        "precision",
        "recall",
        "f1",
        "consumers",
        "identifiers",
        "largest_true_identifier_set",
    ):
        scores.add_row(key, f"{figures[key]:,}" if isinstance(figures[key], int) else str(figures[key]))
    scores.add_row("largest clusters", ", ".join(str(c["identifiers"]) for c in figures["largest_clusters"]))
    evidence = figures["against_evidence"]
    scores.add_row(
        "against what the evidence allows",
        f"precision {evidence['precision']}, recall {evidence['recall']}, F1 {evidence['f1']}",
    )
    scores.add_row(
        "best recall any resolver could reach", str(evidence["best_possible_recall_against_persons"])
    )
    console.print(scores)
    rates = Table(
        "feed", "identification rate", title="Records whose consumer holds a phone, member id or account"
    )
    for feed, rate in figures["identification_rate"].items():
        rates.add_row(feed, f"{rate:.1%}")
    console.print(rates)
    console.print(f"Written to [bold]{write_report(figures, settings.reports)}[/]")


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
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    settings = load_settings()
    _run_with_progress(days, settings, wait_minutes)
    console.print(
        f"[green]{len(days)} day(s) done.[/] Warehouse [bold]{settings.warehouse}[/] (open it read-only)."
    )


def _run_with_progress(days: list[date], settings: Settings, wait_minutes: int = 0) -> list[DayRun]:
    """Run the nightly DAG for `days` in order, showing each day's tasks; exit 1 at the first failure,
    before the first task when the nights cannot run, naming what is missing, or at once when another
    run holds the data folder."""
    from databank.night_runner import RunInProgressError, one_run_per_data_folder

    try:
        with one_run_per_data_folder(settings):
            return _run_held(days, settings, wait_minutes)
    except RunInProgressError as error:
        console.print(f"[bold red]{escape(str(error))}[/]")
        raise typer.Exit(1) from error


def _run_held(days: list[date], settings: Settings, wait_minutes: int) -> list[DayRun]:
    from databank.night_runner import NightCannotRunError, check_night_can_run, output_to, run_days
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
    with output_to(log_file) as terminal:
        shown = Console(file=terminal)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=shown,
        ) as progress:
            bar = progress.add_task("days", total=len(days))

            def on_task(run_day: date, task_id: str, state: str) -> None:
                progress.update(bar, description=f"{run_day} {task_id}: {state}")

            def on_day(run: DayRun) -> None:
                runs.append(run)
                progress.advance(bar)
                progress.console.print(day_summary(run))

            run_days(days, wait_minutes=wait_minutes, on_task=on_task, on_day=on_day)
    failed = next((run for run in runs if run.state != "success"), None)
    if failed is not None:
        for task in failed.failed:
            console.print(
                f"[bold red]{failed.day}: task {task.task_id} failed[/]: {task.error or 'see the log'}"
            )
        if not failed.failed:
            console.print(
                f"[bold red]{failed.day}: the run ended {failed.state}[/]: {failed.reason or 'see the log'}"
            )
        later = len(days) - len(runs)
        console.print(f"{later} later day(s) not run. Log: {log_file}")
        raise typer.Exit(1)
    return runs


@app.command("airflow")
def airflow_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the UI and API on 127.0.0.1.")] = 8080,
) -> None:
    """Start Airflow standalone (UI, scheduler) with the nightly DAG loaded, until Ctrl-C.

    It shares <data_dir>/airflow with `databank run`, so the days already run show in the UI.
    """
    from databank.airflow_standalone import StartError, start

    settings = load_settings()
    with console.status("Starting Airflow standalone (about half a minute)"):
        try:
            server = start(settings, port)
        except StartError as error:
            console.print(f"[bold red]{error}[/]")
            raise typer.Exit(1) from error
    user, password = server.login()
    console.print(
        f"Airflow is up at [bold]{server.url}[/]: log in as [bold]{user}[/] / [bold]{password}[/].\n"
        f"The DAG databank_nightly starts paused; its runs from `databank run` are listed. "
        f"Output: {server.log_file}. Ctrl-C stops every Airflow process."
    )
    try:
        server.process.wait()
    except KeyboardInterrupt:
        console.print("Stopping Airflow")
    finally:
        server.stop()


def _generate_with_progress(args: GenerateArgs) -> GenerationSummary:
    console.print(
        f"Generating {args.consumers:,} consumers × {args.days} days from {args.start} "
        f"(seed {args.seed}, bad rate {args.bad_rate:.2%}) into [bold]{args.out}[/]"
    )
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("days", total=args.days)

        def on_day(index: int, day: date, rows: int) -> None:
            progress.update(task, advance=1, description=f"{day} ({rows:,} rows)")

        summary = generate(args, on_day=on_day)
    print_generation_summary(summary, time.perf_counter() - started)
    return summary


if __name__ == "__main__":
    app()
