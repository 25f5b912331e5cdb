"""The worked example (docs/examples/cdnow.md) on a committed slice of the real data set: the slice
landed with the example's mapping and settings, loaded as a history, and its numbers held against
pandas reading the slice's text on its own, with none of databank's code."""

from __future__ import annotations

import io
import secrets
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest
from typer.testing import CliRunner

from databank.cli import app
from databank.config import load_settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
SLICE = ROOT / "tests" / "data" / "cdnow_slice.txt"
EXAMPLE = ROOT / "docs" / "examples"
# The history ends on the slice's last purchase day, as the data set's ends on its own: the gold
# gate holds a funnel whose last touch is days older than its run date to be stale.
RUN_DATE = date(1998, 6, 27)
runner = CliRunner()


@pytest.fixture(scope="module")
def slice_lines() -> pd.DataFrame:
    """The slice as pandas reads it: one row a line, blanks between fields, header first."""
    text = SLICE.read_bytes().decode("ascii")
    lines = pd.read_csv(io.StringIO(text), sep=r"\s+", dtype={"customer_id": str, "date": str})
    lines["day"] = pd.to_datetime(lines["date"], format="%Y%m%d").dt.date
    assert lines["day"].max() == RUN_DATE
    return lines


@pytest.fixture(scope="module")
def example(spark, module_tmp, slice_lines):
    """The slice landed and loaded in a brand folder set up as `make example` sets one up; the
    settings, and what the two commands printed."""
    folder = module_tmp("cdnow")
    shutil.copy(EXAMPLE / "cdnow" / "databank.toml", folder)
    (folder / "sources").mkdir()
    shutil.copy(EXAMPLE / "sources" / "cdnow.yaml", folder / "sources")
    (folder / "keys").mkdir(mode=0o700)
    for key in ("hmac", "vault"):
        (folder / "keys" / f"{key}.key").write_text(secrets.token_hex(32))
        (folder / "keys" / f"{key}.key").chmod(0o600)
    for feed in ("brands", "products"):
        day_folder = folder / "data" / "landing" / feed / "dt=1997-01-01"
        day_folder.mkdir(parents=True)
        shutil.copy(EXAMPLE / "cdnow" / "reference" / f"{feed}_19970101.csv", day_folder)
    shutil.copy(SLICE, folder / "CDNOW_master.txt")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        landed = runner.invoke(app, ["sources", "land", "CDNOW_master.txt", "--source", "cdnow"])
        assert landed.exit_code == 0, landed.output
        loaded = runner.invoke(app, ["load-history", "--start", "1997-01-01", "--end", str(RUN_DATE)])
        assert loaded.exit_code == 0, loaded.output
        settings = load_settings()
    return settings, " ".join(landed.output.split()), " ".join(loaded.output.split())


def _warehouse(settings, query: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse), read_only=True) as warehouse:
        return warehouse.sql(query).df()


def test_every_line_is_landed_on_its_day_and_stored_once(example, slice_lines):
    settings, landed, _ = example
    lakehouse = settings.lakehouse
    runs = pl.read_delta(str(lakehouse / "ops" / "ingest_runs")).filter(pl.col("feed") == "online_orders")
    bronze = pl.read_delta(str(lakehouse / "bronze" / "online_orders"))
    silver = pl.read_delta(str(lakehouse / "silver" / "online_orders"))

    days = slice_lines["day"].nunique()
    assert f"Landed {len(slice_lines)} records of CDNOW_master.txt into {days} day folders" in landed
    assert runs["rows_delivered"].sum() == len(slice_lines)
    assert runs["rows_bronze"].sum() + runs["rows_quarantined"].sum() == len(slice_lines)
    assert len(bronze) == len(slice_lines)  # every line valid, duplicates included
    assert len(silver) == len(slice_lines)
    assert silver["order_line_id"].n_unique() == len(slice_lines)  # identical lines, distinct ids


def test_each_customers_purchases_and_revenue_are_the_slices(example, slice_lines):
    settings, _, loaded = example
    paid = slice_lines[slice_lines["dollar_value"] > 0]
    per_customer = paid.groupby("customer_id")["dollar_value"].agg(["count", "sum"])
    expected = sorted((n, round(usd, 2)) for n, usd in per_customer.itertuples(index=False))
    stored = _warehouse(
        settings,
        "select count(*) as n, round(sum(net_amount), 2) as usd from marts.fct_order_lines "
        "where gross_amount > 0 group by one_id",
    )
    consumers = _warehouse(settings, "select count(*) as n from marts.dim_consumers")["n"][0]

    assert sorted(zip(stored["n"], stored["usd"], strict=True)) == expected
    assert consumers == slice_lines["customer_id"].nunique()
    assert f"({slice_lines['customer_id'].nunique()} consumers)" in loaded
    assert len(paid) < len(slice_lines)  # the slice holds free lines, which are no purchases


def test_the_last_days_funnel_and_rfm_are_the_slices(example, slice_lines):
    settings, _, _ = example
    paid = slice_lines[slice_lines["dollar_value"] > 0]
    days_ago = paid["day"].map(lambda day: (RUN_DATE - day).days)
    # AIPL.md: Loyalty is 2 or more distinct purchase days in the last 365; Purchase one in 730.
    loyal_days = paid[days_ago < 365].groupby("customer_id")["day"].nunique()
    loyal = int((loyal_days >= 2).sum())
    buyers = paid[days_ago < 730]["customer_id"].nunique()
    year = paid[days_ago < 365]
    rfm_expected = sorted(
        (days, round(usd, 2))
        for days, usd in year.groupby("customer_id")
        .agg(days=("day", "nunique"), usd=("dollar_value", "sum"))
        .itertuples(index=False)
    )

    funnel = _warehouse(
        settings,
        f"select consumers_p, consumers_l from marts.aipl_daily_funnel "
        f"where brand_id = 'cdnow' and funnel_date = '{RUN_DATE}'",
    )
    rfm = _warehouse(
        settings,
        f"select frequency, round(monetary, 2) as usd from marts.consumer_rfm "
        f"where brand_id = 'cdnow' and as_of_date = '{RUN_DATE}'",
    )

    assert (funnel["consumers_l"][0], funnel["consumers_p"][0]) == (loyal, buyers - loyal)
    assert loyal > 0
    assert buyers > loyal
    assert sorted(zip(rfm["frequency"], rfm["usd"], strict=True)) == rfm_expected
