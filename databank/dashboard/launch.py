"""Start the dashboard: `streamlit run` on the app, pointed at this configuration's data."""

from __future__ import annotations

import os
import subprocess
import sys

from databank.config import Settings
from databank.dashboard import APP


def streamlit_command(address: str, port: int) -> list[str]:
    """The `streamlit run` command line serving the app headless, without usage statistics or the
    developer's toolbar."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


def settings_environment(settings: Settings) -> dict[str, str]:
    """The DATABANK_* variables that give the app the same data, as absolute paths, so the server
    finds them whatever its working directory."""
    return {
        "DATABANK_DATA_DIR": str(settings.data_dir.resolve()),
        "DATABANK_LAKEHOUSE_DIR": str(settings.lakehouse.resolve()),
        "DATABANK_WAREHOUSE_PATH": str(settings.warehouse.resolve()),
        "DATABANK_REPORTS_DIR": str(settings.reports.resolve()),
        "DATABANK_AUDIENCES__FOLDER": str(settings.audiences.folder.resolve()),
    }


def dashboard_url(address: str, port: int) -> str:
    return f"http://{address}:{port}/"


def serve(settings: Settings, address: str, port: int) -> int:
    """Run the server until it stops; its exit code."""
    server = subprocess.Popen(
        streamlit_command(address, port), env={**os.environ, **settings_environment(settings)}
    )
    try:
        return server.wait()
    except KeyboardInterrupt:
        # Ctrl-C in the terminal reached the server too: let it shut down on its own.
        return server.wait()
