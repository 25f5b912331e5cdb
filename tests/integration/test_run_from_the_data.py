"""`databank run` over feeds that precede the default start date, as a brand with older data runs it:
the nights start on the first day that landed, build the warehouse, and a day before it is refused.

The run happens in its own process, as a user starts it (Airflow reads its home once, at import).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from databank.config import load_settings
from databank.generator.generate import GenerateArgs, generate

pytestmark = pytest.mark.slow
DAYS = (date(2026, 3, 1), date(2026, 3, 2))


def _databank(data_dir: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABANK_", "AIRFLOW"))}
    return subprocess.run(
        [sys.executable, "-m", "databank.cli", *arguments],
        env={**environment, "DATABANK_DATA_DIR": str(data_dir), "DATABANK_HMAC_KEY": "k", "COLUMNS": "200"},
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def early(tmp_path_factory):
    """Two days of a small brand, two months before the demo's (and once the DAG's) start date, run."""
    data_dir = tmp_path_factory.mktemp("run-from-the-data")
    settings = load_settings(data_dir=data_dir)
    generate(GenerateArgs(out=settings.landing, consumers=200, days=len(DAYS), start=DAYS[0], seed=5))
    return settings, _databank(data_dir, "run", "--start", DAYS[0].isoformat(), "--end", DAYS[-1].isoformat())


def test_days_before_the_default_start_date_build_the_warehouse(early):
    settings, result = early

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for day in DAYS:
        assert f"{day}: success" in result.stdout
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        funnel = con.execute("SELECT DISTINCT funnel_date FROM marts.aipl_daily_funnel").fetchall()
    assert {day for (day,) in funnel} == set(DAYS)


def test_a_day_before_the_first_landed_one_is_refused_with_the_reason(early):
    settings, _ = early

    result = _databank(settings.data_dir, "run", "--date", "2026-02-28")

    said = " ".join(result.stdout.split())
    assert result.returncode == 1, said
    assert "2026-02-28 is before the first business day 2026-03-01" in said
