"""Saving a funnel state or a flow cell as a definition: it reads back as written, an existing
audience is kept unless replacing is asked for, and a bad cell is refused naming what is wrong."""

import pytest
from typer.testing import CliRunner

from databank.audiences.definition import AudienceError, flow_cell_audience, parse_definition, save_definition
from databank.cli import app


def test_a_flow_cell_is_saved_and_reads_back_as_written(tmp_path):
    cell = flow_cell_audience("B01", "marketing", "L", "P", 30, "loyal a month ago, only buyers now")

    path = save_definition(tmp_path, "lapsing", cell)

    assert path == tmp_path / "lapsing.yaml"
    assert parse_definition(path) == cell
    with pytest.raises(AudienceError, match="audience 'lapsing' exists"):
        save_definition(tmp_path, "lapsing", flow_cell_audience("B01", "marketing", "I", "P", 7))
    save_definition(tmp_path, "lapsing", flow_cell_audience("B01", "marketing", "I", "P", 7), replace=True)
    assert parse_definition(path).aipl_flow.state_d0 == "I"


def test_a_cell_that_is_no_cell_is_refused_naming_the_problem():
    with pytest.raises(AudienceError, match="none -> none is no flow cell"):
        flow_cell_audience("B01", "marketing", "none", "none", 7)
    with pytest.raises(AudienceError, match=r"aipl_flow\.lag_days"):
        flow_cell_audience("B01", "marketing", "I", "P", 0)


def test_the_save_command_writes_states_or_a_flow_cell(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABANK_AUDIENCES__FOLDER", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    states = runner.invoke(
        app, ["audience", "save", "buyers", "--brand", "B01", "--purpose", "marketing", "--states", "P,L"]
    )
    flow = runner.invoke(
        app,
        ["audience", "save", "converted", "--brand", "B02", "--purpose", "ad_targeting", "--flow", "I:P:7"],
    )
    neither = runner.invoke(app, ["audience", "save", "x", "--brand", "B01", "--purpose", "marketing"])
    bad = runner.invoke(
        app, ["audience", "save", "y", "--brand", "B01", "--purpose", "marketing", "--flow", "I:Q:7"]
    )

    assert states.exit_code == 0, states.output
    assert flow.exit_code == 0, flow.output
    assert parse_definition(tmp_path / "buyers.yaml").aipl_states == ("P", "L")
    assert parse_definition(tmp_path / "converted.yaml").aipl_flow.lag_days == 7
    assert neither.exit_code == 1
    assert "give --states or --flow" in neither.output
    assert bad.exit_code == 1
    assert "aipl_flow.state_d1" in bad.output
    assert not (tmp_path / "y.yaml").exists()
