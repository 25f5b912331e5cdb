"""`databank eval`: the data bank measured against the generator's ground truth."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from databank.cli.json_output import print_json
from databank.cli.render import console, parse_day
from databank.config import load_settings
from databank.evaluation import evaluate_identity, write_report
from databank.generator.generate import TRUTH_DIR

app = typer.Typer(help="Measure the data bank against the generator's ground truth.", no_args_is_help=True)


@app.command("identity")
def eval_identity_command(
    day: Annotated[
        str | None, typer.Option("--date", help="Identity map of this day; default: the latest.")
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="Ground-truth folder; default: <landing>/_truth.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document on stdout, for scripts.")
    ] = False,
) -> None:
    """OneID against the truth: B-cubed precision, recall and F1, largest clusters, identification rates."""
    settings = load_settings()
    truth_dir = truth or settings.landing / TRUTH_DIR
    if not (truth_dir / "records.parquet").is_file():
        raise typer.BadParameter(f"no ground truth in {truth_dir}: evaluation needs generated feeds")
    # No spinner with --json: stdout holds the JSON document alone.
    with nullcontext() if as_json else console.status("Evaluating identity resolution"):
        figures = evaluate_identity(settings, truth_dir, parse_day(day) if day else None)
    report = write_report(figures, settings.reports)
    if as_json:
        print_json(figures)
        return
    console.print(_scores_table(figures))
    rates = Table(
        "feed", "identification rate", title="Records whose consumer holds a phone, member id or account"
    )
    for feed, rate in figures["identification_rate"].items():
        rates.add_row(feed, f"{rate:.1%}")
    console.print(rates)
    console.print(f"Written to [bold]{report}[/]")


def _scores_table(figures: dict) -> Table:
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
    return scores
