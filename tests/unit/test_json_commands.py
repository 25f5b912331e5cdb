"""`--json` of the read commands (`status`, `audience list`, `audience size`): stdout is one JSON
document and nothing else, dates ISO; and `databank status` as a person reads it."""

from __future__ import annotations

import json
import os

import pytest
from airflow_records import Run, Task, write_metadata
from audience_warehouse import build_warehouse, member, spell
from typer.testing import CliRunner

from databank.cli import app

runner = CliRunner()


@pytest.fixture
def environment(tmp_path, monkeypatch):
    """A data folder of its own, no setting of the machine's."""
    for name in [n for n in os.environ if n.startswith("DATABANK_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def two_nights(environment):
    """1 March ran; 2 March failed waiting for online_orders."""
    write_metadata(
        environment / "data" / "airflow" / "airflow.db",
        [
            Run(
                "r1",
                "success",
                "2026-02-28 16:00:00.000000",
                "10:00:40",
                (
                    Task(
                        "build_and_publish_marts", "success", "10:00:00", "10:00:30", returned={"tables": {}}
                    ),
                ),
            ),
            Run(
                "r2",
                "failed",
                "2026-03-01 16:00:00.000000",
                "11:00:02",
                (
                    Task(
                        "online_orders.wait_for_landing",
                        "failed",
                        "11:00:00",
                        "11:00:01",
                        failure="required feed online_orders has not landed for 2026-03-02",
                    ),
                ),
            ),
        ],
    )
    return environment


def test_status_json_is_one_document_of_the_nights_with_iso_dates(two_nights):
    result = runner.invoke(app, ["status", "--json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [(n["day"], n["state"]) for n in document["nights"]] == [
        ("2026-03-01", "success"),
        ("2026-03-02", "failed"),
    ]
    assert document["nights"][0]["ended_at"] == "2026-12-02T10:00:40+00:00"
    assert document["nights"][1]["failed_tasks"] == [
        {
            "task_id": "online_orders.wait_for_landing",
            "reason": "required feed online_orders has not landed for 2026-03-02",
        }
    ]
    assert document["nights"][1]["rerun"] == "databank run --date 2026-03-02"
    assert document["warehouse_run_date"] is None


def test_status_days_keeps_the_last_nights(two_nights):
    result = runner.invoke(app, ["status", "--json", "--days", "1"])

    assert [n["day"] for n in json.loads(result.stdout)["nights"]] == ["2026-03-02"]


def test_status_says_what_failed_why_and_the_command_that_runs_it_again(two_nights):
    result = runner.invoke(app, ["status"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "2026-03-02: failed" in result.output
    assert "online_orders.wait_for_landing: required feed online_orders has not landed" in result.output
    assert "run it again: databank run --date 2026-03-02" in result.output


def test_status_before_any_night_says_so(environment):
    result = runner.invoke(app, ["status"])

    assert result.exit_code == 0, result.output
    assert "No night has run yet" in result.output


@pytest.fixture
def audiences(environment, monkeypatch):
    """A warehouse of four loyal consumers of B1, three of them consenting members; one audience."""
    warehouse = build_warehouse(
        environment / "w.duckdb",
        spells=tuple(spell(f"c{n}", "L") for n in range(4)),
        memberships=tuple(member(f"c{n}") for n in range(3)),
    )
    folder = environment / "audiences"
    folder.mkdir()
    (folder / "loyal.yaml").write_text(
        "description: Loyal\nbrand_id: B1\npurpose: marketing\naipl_states: [L]\n"
    )
    (folder / "broken.yaml").write_text("brand_id: B1\n")
    monkeypatch.setenv("DATABANK_WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("DATABANK_AUDIENCES__FOLDER", str(folder))
    monkeypatch.setenv("DATABANK_AUDIENCES__MIN_EXPORT_SIZE", "3")


def test_audience_size_json_holds_the_counts_and_the_verdict(audiences):
    result = runner.invoke(app, ["audience", "size", "loyal", "--json"])

    assert result.exit_code == 0, result.output
    size = json.loads(result.stdout)
    assert (size["matched"], size["consenting"], size["excluded_no_consent"]) == (4, 3, 1)
    assert size["export_allowed"] is True
    assert size["run_date"] == "2026-05-14"


def test_audience_list_json_lists_each_definition_or_why_it_does_not_load(audiences):
    result = runner.invoke(app, ["audience", "list", "--json"])

    assert result.exit_code == 0, result.output
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert listed["loyal"]["brand_id"] == "B1"
    assert listed["loyal"]["error"] is None
    assert listed["broken"]["error"]


def test_an_audience_error_under_json_leaves_stdout_empty_and_fails(audiences):
    result = runner.invoke(app, ["audience", "size", "nobody", "--json"])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no audience 'nobody'" in result.stderr
