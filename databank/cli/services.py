"""`databank dashboard` and `databank airflow`: the long-running servers, each until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

from databank.cli.render import console
from databank.config import load_settings
from databank.dashboard.launch import dashboard_url, serve

app = typer.Typer()


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
