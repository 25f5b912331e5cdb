"""The dbt project builds on the warehouse over silver, and its tests pass."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest
from delta_reading import DAYS, START

from databank.config import load_settings
from databank.marts import build_marts

pytestmark = pytest.mark.slow


def test_dbt_build_over_silver_passes_every_model_test(resolved, tmp_path):
    resolved_settings, _, _ = resolved
    settings = load_settings(
        data_dir=tmp_path, lakehouse_dir=resolved_settings.lakehouse, hmac_key="integration-key"
    )

    # build_marts raises, listing dbt's failing nodes, if any model, data test or unit test fails
    result = build_marts(settings, START + timedelta(days=DAYS - 1), full_refresh=True, unit_tests=True)

    assert result.dbt_statuses.get("success", 0) > 0
    assert result.dbt_statuses.get("pass", 0) > 0
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        resolved_records = con.execute("SELECT count(*) FROM intermediate.int_records_resolved").fetchone()[0]
        funnel = con.execute(
            "SELECT count(*), min(asset_total) FROM marts.aipl_daily_funnel WHERE funnel_date = ?",
            [START + timedelta(days=DAYS - 1)],
        ).fetchone()
    assert resolved_records > 0
    assert funnel[0] == 3  # a row per brand
    assert funnel[1] > 0  # and every brand has consumer assets on the run date
