"""The dbt project builds on the warehouse over silver, and its tests pass."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner
from delta_reading import DAYS, START

from databank.warehouse import register_silver

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


def test_dbt_build_over_silver_passes_every_model_test(resolved, tmp_path, monkeypatch):
    settings, _, _ = resolved
    warehouse = tmp_path / "build.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        assert "identity_map" in register_silver(con, Path(settings.lakehouse))
    monkeypatch.setenv("DATABANK_DBT_DUCKDB_PATH", str(warehouse))
    run_date = START.toordinal() + DAYS - 1

    result = dbtRunner().invoke(
        [
            "build",
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--vars",
            f"{{run_date: '{START.fromordinal(run_date)}'}}",
        ]
    )

    assert result.success, result.exception
    with duckdb.connect(str(warehouse)) as con:  # dbt in-process still holds the file open
        resolved_records = con.execute("SELECT count(*) FROM intermediate.int_records_resolved").fetchall()[
            0
        ][0]
    assert resolved_records > 0
