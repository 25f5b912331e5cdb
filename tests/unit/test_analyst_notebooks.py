"""The analyst notebooks as committed (valid, without outputs, question and parameters first) and the
helpers they share (databank.notebook)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import nbformat
import pytest
from matplotlib import font_manager, rc_context, rcParams

from databank import notebook as helpers
from databank.config import load_settings

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks_to_check():
    assert {"aipl_deep_dive.ipynb", "identity_quality.ipynb", "campaign_effect.ipynb"} <= {
        path.name for path in NOTEBOOKS
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_notebook_is_valid_and_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith("# ")
    assert "**Question.**" in first.source
    assert "**Reads**" in first.source
    assert "parameters" in code[0].metadata.get("tags", [])


@pytest.fixture
def warehouse(tmp_path) -> Path:
    """A tiny warehouse: two brands, HUGEINT sums, and a view whose files are gone."""
    path = tmp_path / "databank.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE SCHEMA staging")
        con.execute(
            "CREATE TABLE marts.dim_brands AS SELECT * FROM (VALUES ('B01', '山岚', 'Shanlan'), "
            "('B02', '青禾', 'Qinghe')) AS t(brand_id, brand_name, brand_name_en)"
        )
        con.execute("CREATE TABLE marts.counts AS SELECT 'B01' AS brand_id, 3::HUGEINT AS consumers")
        missing = tmp_path / "gone.parquet"
        con.execute(f"COPY (SELECT 1 AS x) TO '{missing}' (FORMAT parquet)")
        con.execute(f"CREATE VIEW staging.stg_gone AS SELECT * FROM read_parquet('{missing}')")
        missing.unlink()
    return path


def test_connect_opens_the_configured_warehouse_read_only(warehouse):
    con = helpers.connect(load_settings(warehouse_path=warehouse))

    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("CREATE TABLE marts.scratch (x INT)")


def test_connect_without_a_warehouse_says_where_it_looked_and_how_to_build_one(tmp_path):
    with pytest.raises(helpers.NoWarehouseError, match="databank run") as error:
        helpers.connect(load_settings(data_dir=tmp_path))

    assert str(tmp_path / "warehouse" / "databank.duckdb") in str(error.value)


def test_query_binds_parameters_and_keeps_counts_integers(warehouse):
    con = helpers.connect(load_settings(warehouse_path=warehouse))

    frame = helpers.query(con, "SELECT consumers FROM marts.counts WHERE brand_id = $brand", {"brand": "B01"})

    assert str(frame.consumers.dtype) == "Int64"
    assert frame.consumers.tolist() == [3]


def test_brands_label_every_brand_or_reject_an_unknown_one(warehouse):
    con = helpers.connect(load_settings(warehouse_path=warehouse))

    assert helpers.brands(con).label.to_dict() == {"B01": "山岚 Shanlan", "B02": "青禾 Qinghe"}
    assert list(helpers.brands(con, ["B02"]).index) == list(helpers.brands(con, "B02").index) == ["B02"]
    with pytest.raises(ValueError, match=r"unknown brand ids \['B09'\]"):
        helpers.brands(con, ["B09"])


def test_a_relation_is_readable_only_when_it_exists_and_its_files_do(warehouse):
    con = helpers.connect(load_settings(warehouse_path=warehouse))

    assert helpers.relation_readable(con, "marts", "counts")
    assert not helpers.relation_readable(con, "staging", "stg_gone")
    assert not helpers.relation_readable(con, "staging", "stg_never_built")


def test_the_day_read_defaults_to_the_latest_and_is_never_after_it():
    latest = date(2026, 5, 3)

    assert helpers.as_of_day(None, latest) == latest
    assert helpers.as_of_day("2026-05-02", latest) == date(2026, 5, 2)
    with pytest.raises(ValueError, match="after the latest day"):
        helpers.as_of_day("2026-05-04", latest)


def test_a_cjk_font_installed_after_matplotlib_listed_the_fonts_is_found(monkeypatch):
    installed = {font.name for font in font_manager.FontManager().ttflist}  # read off the system now
    family = next((name for name in helpers.CJK_FONTS if name in installed), None)  # None: none installed
    without_cjk = [f for f in font_manager.fontManager.ttflist if f.name not in helpers.CJK_FONTS]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", without_cjk)  # a list made before the install

    with rc_context():
        assert helpers.use_cjk_fonts() == family
        assert family is None or rcParams["font.sans-serif"][0] == family


def test_cjk_fonts_lead_when_installed_and_nothing_fails_when_not(monkeypatch):
    with rc_context():
        family = helpers.use_cjk_fonts()
        assert family is None or rcParams["font.sans-serif"][0] == family
    monkeypatch.setattr(helpers, "CJK_FONTS", ("No Such Font",))
    with rc_context():
        before = list(rcParams["font.sans-serif"])
        assert helpers.use_cjk_fonts() is None
        assert rcParams["font.sans-serif"] == before
