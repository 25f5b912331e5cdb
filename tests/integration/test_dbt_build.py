"""The dbt project builds on the warehouse over silver, and its tests pass."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest
from delta_reading import DAYS, START

pytestmark = pytest.mark.slow


def test_dbt_build_over_silver_passes_every_model_test(published):
    settings, result = published  # built with every data test and unit test, which all passed

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
