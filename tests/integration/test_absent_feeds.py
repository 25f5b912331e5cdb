"""A brand runs with the feeds it has: a web-only retailer (no POS, LBS or media feed, and no
campaigns, stores or keywords) lists only its own feeds and its night builds every mart, empty where
a feed is absent, without faking a file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date

import duckdb
import pytest
from deltalake import DeltaTable

from databank.config import load_settings
from databank.generator.generate import GenerateArgs, generate

pytestmark = pytest.mark.slow

DAY = date(2026, 3, 2)
KEY = "web-only-brand-key"
OWN_FEEDS = ["online_orders", "online_events", "members"]
ABSENT = ["pos_transactions", "lbs_pings", "media_exposures", "campaigns", "stores", "keywords"]


@pytest.fixture(scope="module")
def night(module_tmp):
    data_dir = module_tmp("web-only")
    settings = load_settings(data_dir=data_dir, hmac_key=KEY)
    generate(GenerateArgs(out=settings.landing, consumers=150, days=1, start=DAY, seed=5, bad_rate=0.0))
    for feed in ABSENT:
        shutil.rmtree(settings.landing / feed)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABANK_", "AIRFLOW"))}
    environment |= {
        "DATABANK_DATA_DIR": str(data_dir),
        "DATABANK_HMAC_KEY": KEY,
        "DATABANK_PIPELINE__REQUIRED_FEEDS": json.dumps(OWN_FEEDS),
        "DATABANK_PIPELINE__OPTIONAL_FEEDS": json.dumps(["brands", "products", "erasure_requests"]),
        "COLUMNS": "200",
    }
    result = subprocess.run(
        [sys.executable, "-m", "databank.cli", "run", "--date", DAY.isoformat()],
        env=environment,
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return settings, result


def test_the_night_of_a_brand_without_pos_lbs_media_or_campaigns_succeeds(night):
    _, result = night

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"{DAY}: success" in result.stdout


def test_an_absent_feed_has_an_empty_silver_table_of_its_shape(night):
    settings, _ = night
    orders = DeltaTable(str(settings.lakehouse / "silver" / "online_orders")).schema().to_arrow()

    for feed in ABSENT:
        table = DeltaTable(str(settings.lakehouse / "silver" / feed))
        assert table.to_pyarrow_table().num_rows == 0, feed
        assert "dt" in table.schema().to_arrow().names, feed
    pos = DeltaTable(str(settings.lakehouse / "silver" / "pos_transactions")).schema().to_arrow()
    assert {"receipt_line_id", "sold_date", "is_return_linked"} <= set(pos.names)
    assert {"transacted_date", "is_refund_linked"} <= set(orders.names)


def test_the_funnel_is_built_from_the_feeds_the_brand_has_and_absent_feeds_marts_are_empty(night):
    settings, _ = night

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        funnel = con.sql(
            "select sum(asset_total) from marts.aipl_daily_funnel where funnel_date = ?", params=[DAY]
        ).fetchall()[0][0]
        channels = {
            row[0] for row in con.sql("select distinct channel from marts.fct_touchpoints").fetchall()
        }
        campaigns = con.sql("select count(*) from marts.campaign_performance").fetchall()[0][0]
        stores = con.sql("select count(*) from marts.store_trade_areas").fetchall()[0][0]

    assert funnel > 0
    assert "online" in channels
    assert not channels & {"pos", "lbs", "media"}
    assert (campaigns, stores) == (0, 0)
