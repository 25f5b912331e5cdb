"""`databank config`: the configuration in force and the paths it resolves to."""

from __future__ import annotations

import typer
from rich.table import Table

from databank.cli.render import console
from databank.config import load_settings

app = typer.Typer()


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
