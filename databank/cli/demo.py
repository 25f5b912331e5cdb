"""`databank generate` and `databank demo`: synthetic feeds, and the whole system run on them."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from databank.cli.history import load_with_status
from databank.cli.render import (
    console,
    days_progress,
    parse_day,
    print_generation_summary,
    print_night_report,
    print_where_next,
)
from databank.cli.run import run_with_progress
from databank.config import Settings, load_settings
from databank.generator import GenerateArgs, GenerationSummary, generate
from databank.keys import ensure_demo_key
from databank.night_report import night_report

app = typer.Typer()


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
    days: Annotated[
        int | None,
        typer.Option(min=2, help="Local days to generate: all but the last loaded as history, the last run."),
    ] = None,
) -> None:
    """The whole system on a demo brand group: generate its feeds, load every day but the last as the
    brand's history, as a brand starts (`databank load-history`), run the nightly DAG for the last day,
    then print that day's AIPL funnel, the week's flow and the identification rate."""
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
    days = [args.start + timedelta(days=n) for n in range(args.days)]
    _load_history(settings, days[0], days[-2])
    run_with_progress(days[-1:], settings)
    print_night_report(night_report(settings.warehouse))
    console.print(f"\n[green]Demo done in {(time.perf_counter() - started) / 60:.1f} min.[/]")
    print_where_next(settings)


def _load_history(settings: Settings, first: date, last: date) -> None:
    """The days before the last loaded in one go, with Spark's output in a log file as a night keeps it."""
    from databank.night_runner import output_to
    from databank.pipeline import airflow_home

    log_file = airflow_home(settings) / "logs" / f"history-{first}-{last}-{datetime.now():%Y%m%dT%H%M%S}.log"
    console.print(
        f"Loading {first} to {last} as the brand's history (databank load-history); log: [bold]{log_file}[/]"
    )
    with output_to(log_file) as terminal:
        load_with_status(settings, first, last, Console(file=terminal))


def _generate_with_progress(args: GenerateArgs) -> GenerationSummary:
    console.print(
        f"Generating {args.consumers:,} consumers × {args.days} days from {args.start} "
        f"(seed {args.seed}, bad rate {args.bad_rate:.2%}) into [bold]{args.out}[/]"
    )
    started = time.perf_counter()
    with days_progress(console) as progress:
        task = progress.add_task("days", total=args.days)

        def on_day(index: int, day: date, rows: int) -> None:
            progress.update(task, advance=1, description=f"{day} ({rows:,} rows)")

        summary = generate(args, on_day=on_day)
    print_generation_summary(summary, time.perf_counter() - started)
    return summary
