"""The `databank` command line: one module per command or command group, assembled here.

A command module holds its own `app = typer.Typer()`; a group of sub-commands is added under its name,
single commands are added without one so they stay top-level (`databank run`, not `databank run run`).
"""

from __future__ import annotations

import os

import typer

from databank.cli import (
    audience,
    config,
    demo,
    erase,
    evaluation,
    history,
    housekeeping,
    marts,
    run,
    services,
    sources,
    status,
)

app = typer.Typer(
    help="databank: a consumer data bank for retail brands (nightly lakehouse, OneID, AIPL funnel).",
    no_args_is_help=True,
    add_completion=False,
)
single_commands = (demo, config, services, marts, run, history, status, erase, housekeeping)
for commands in (module.app for module in single_commands):
    app.add_typer(commands)
app.add_typer(evaluation.app, name="eval")
app.add_typer(audience.app, name="audience")
app.add_typer(sources.app, name="sources")

PRIVATE_UMASK = 0o027  # files 0640, folders 0750: the owner and its service group, nobody else


@app.callback()
def _private_files() -> None:
    # Everything a command writes (lakehouse, warehouse, exports, reports, Airflow's metadata and
    # admin password), and what its Spark, dbt and Airflow child processes write, stays off limits to
    # the machine's other users.
    os.umask(PRIVATE_UMASK)
