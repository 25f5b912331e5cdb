"""`databank dashboard`: serves the app with Streamlit, on the given address, over the configured data."""

import sys

import pytest
from typer.testing import CliRunner

from databank.cli import app
from databank.dashboard import APP, launch

runner = CliRunner()


@pytest.fixture
def started(monkeypatch, tmp_path):
    """What the command started: its command line and environment (no server actually starts)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABANK_DATA_DIR", "data")
    record = {"exit_code": 0}

    class Server:
        def __init__(self, command, env):
            record.update(command=command, env=env)

        def wait(self):
            return record["exit_code"]

    monkeypatch.setattr(launch.subprocess, "Popen", Server)
    return record


def test_dashboard_runs_streamlit_headless_on_the_given_address_and_port(started, tmp_path):
    result = runner.invoke(app, ["dashboard", "--port", "8765", "--address", "0.0.0.0"])

    assert result.exit_code == 0, result.output
    assert "http://0.0.0.0:8765/" in result.output
    command = started["command"]
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(APP)]
    assert dict(zip(command[5::2], command[6::2], strict=True)) == {
        "--server.address": "0.0.0.0",
        "--server.port": "8765",
        "--server.headless": "true",
        "--browser.gatherUsageStats": "false",
        "--client.toolbarMode": "viewer",
    }


def test_dashboard_points_the_app_at_the_configured_warehouse_by_absolute_path(started, tmp_path):
    result = runner.invoke(app, ["dashboard"])

    assert result.exit_code == 0, result.output
    env = started["env"]
    assert env["DATABANK_WAREHOUSE_PATH"] == str(tmp_path / "data" / "warehouse" / "databank.duckdb")
    assert env["DATABANK_DATA_DIR"] == str(tmp_path / "data")
    assert "--server.address" in started["command"]
    assert "http://127.0.0.1:8501/" in result.output


def test_dashboard_exits_with_the_servers_exit_code(started):
    started["exit_code"] = 3

    result = runner.invoke(app, ["dashboard"])

    assert result.exit_code == 3


def test_dashboard_has_help():
    result = runner.invoke(app, ["dashboard", "--help"])

    assert result.exit_code == 0
    assert "--port" in result.output
