"""`databank audience`: list, size and export from the command line; errors are messages, not tracebacks."""

import json
import os

import pytest
from audience_warehouse import build_warehouse, member, spell
from typer.testing import CliRunner

from databank.cli import app

runner = CliRunner()


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """The environment points at a tiny warehouse with three consenting loyal members of B1."""
    for name in [n for n in os.environ if n.startswith("DATABANK_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    warehouse = build_warehouse(
        tmp_path / "w.duckdb",
        spells=tuple(spell(f"c{n}", "L") for n in range(4)),
        memberships=tuple(member(f"c{n}") for n in range(3)),
    )
    folder = tmp_path / "audiences"
    folder.mkdir()
    (folder / "loyal.yaml").write_text(
        "description: Loyal\nbrand_id: B1\npurpose: marketing\naipl_states: [L]\n"
    )
    (folder / "broken.yaml").write_text("brand_id: B1\npurpose: marketing\naipl_states: [[/]]\n")
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABANK_WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("DATABANK_AUDIENCES__FOLDER", str(folder))
    monkeypatch.setenv("DATABANK_AUDIENCES__MIN_EXPORT_SIZE", "3")
    return tmp_path


@pytest.mark.parametrize(
    "command", [["audience"], ["audience", "list"], ["audience", "size"], ["audience", "export"]]
)
def test_every_audience_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_list_shows_each_definition_and_why_a_broken_one_fails(configured):
    result = runner.invoke(app, ["audience", "list"])

    assert result.exit_code == 0, result.output
    assert "loyal" in result.output
    assert "marketing" in result.output
    assert "invalid" in result.output


def test_size_shows_matched_consenting_and_whether_export_is_allowed(configured):
    result = runner.invoke(app, ["audience", "size", "loyal"])

    assert result.exit_code == 0, result.output
    assert "matched" in result.output
    assert "│ 4 " in result.output
    assert "│ 3 " in result.output
    assert "export allowed" in result.output


def test_export_writes_csv_and_says_where(configured):
    result = runner.invoke(app, ["audience", "export", "loyal", "--format", "csv", "--date", "2026-05-14"])

    assert result.exit_code == 0, result.output
    [line] = (configured / "data" / "exports" / "audiences" / "exports.log.jsonl").read_text().splitlines()
    assert json.loads(line)["counts"]["exported"] == 3
    assert json.loads(line)["file"].endswith(".csv")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["size", "nobody"], "no audience 'nobody'"),
        (["size", "../etc/passwd"], "is not an audience name"),
        (["size", "broken"], "aipl_states.0"),
        (["size", "loyal", "--date", "2026-04-01"], "outside the days the warehouse holds"),
        (["export", "loyal", "--format", "xml"], "Invalid value for '--format'"),
    ],
)
def test_errors_are_messages_and_a_non_zero_exit(configured, arguments, message):
    result = runner.invoke(app, ["audience", *arguments])

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)
    assert message in " ".join(result.output.split())


def test_a_missing_warehouse_is_a_message(configured, monkeypatch):
    monkeypatch.setenv("DATABANK_WAREHOUSE_PATH", str(configured / "gone.duckdb"))

    result = runner.invoke(app, ["audience", "size", "loyal"])

    assert result.exit_code == 1
    assert "no warehouse at" in result.output


def test_a_refused_export_exits_non_zero(configured, monkeypatch):
    monkeypatch.setenv("DATABANK_AUDIENCES__MIN_EXPORT_SIZE", "4")

    result = runner.invoke(app, ["audience", "export", "loyal"])

    assert result.exit_code == 1
    assert "fewer than the minimum of 4" in " ".join(result.output.split())
    assert not (configured / "data" / "exports").exists()
