"""Every dashboard page (Streamlit's AppTest) over the warehouse a real build published."""

from __future__ import annotations

import re

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from databank.dashboard import APP, PAGES

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def dashboard_settings(published, monkeypatch):
    """The app pointed at the published warehouse, as `databank dashboard` points its server."""
    settings, _ = published
    monkeypatch.setenv("DATABANK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATABANK_LAKEHOUSE_DIR", str(settings.lakehouse))
    monkeypatch.setenv("DATABANK_WAREHOUSE_PATH", str(settings.warehouse))
    return settings


def open_page(script: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.switch_page(script).run()
    return app


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.url_path)
def test_every_page_shows_the_published_night_without_error(dashboard_settings, page):
    app = open_page(page.script)

    assert [title.value for title in app.title] == [page.title]
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    shown = " ".join(info.value for info in app.info)
    assert "published" not in shown, shown  # neither "no night published" nor "no marts"
    if page.url_path != "quality":
        assert not shown, shown


def test_the_funnel_shows_the_published_counts_of_the_latest_day(dashboard_settings):
    with duckdb.connect(str(dashboard_settings.warehouse), read_only=True) as connection:
        brand_id, day, awareness, total = connection.execute(
            """
            SELECT brand_id, funnel_date, consumers_a, asset_total FROM marts.aipl_daily_funnel
            ORDER BY funnel_date DESC, brand_id LIMIT 1
            """
        ).fetchone()

    app = open_page("views/funnel.py")

    assert app.selectbox(key="brand").value == brand_id
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["A awareness"] == f"{awareness:,}"
    assert metrics["F asset total"] == f"{total:,}"
    assert str(day) in app.caption[0].value


def test_brands_and_stores_are_named_in_chinese(dashboard_settings):
    app = open_page("views/trade_areas.py")

    assert all(CHINESE.search(option) for option in app.selectbox(key="brand").options)
    assert all(CHINESE.search(name) for name in app.dataframe[0].value["store_name"])
