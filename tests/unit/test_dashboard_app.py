"""The dashboard's pages (Streamlit's AppTest) on tiny warehouses: none yet, an empty file, a first
day, two weeks, and a night published while the app runs."""

from __future__ import annotations

import json
import os
import sys
import types
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
from dashboard_warehouse import b01_funnel, b01_shanghai, write_empty_warehouse, write_warehouse
from streamlit.testing.v1 import AppTest

from databank.audiences.definition import parse_definition
from databank.dashboard import APP, PAGES

FIRST_DAY = date(2026, 5, 1)
TWO_WEEKS = [FIRST_DAY + timedelta(days=n) for n in range(14)]
LAST_DAY = TWO_WEEKS[-1]
RESULTS_MODULE = "databank.quality.results"
QUALITY_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("run_date", pa.date32()),
        ("stage", pa.string()),
        ("suite", pa.string()),
        ("asset", pa.string()),
        ("expectation", pa.string()),
        ("severity", pa.string()),
        ("success", pa.bool_()),
        ("observed_value", pa.string()),
        ("unexpected_count", pa.int64()),
        ("details", pa.string()),
        ("checked_at", pa.timestamp("us", tz="UTC")),
    ]
)


@pytest.fixture
def warehouse_path(tmp_path, monkeypatch):
    """Where the app looks for the warehouse (nothing there yet); no quality results unless a test
    stores some."""
    path = tmp_path / "warehouse" / "databank.duckdb"
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABANK_WAREHOUSE_PATH", str(path))
    audiences = tmp_path / "audiences"
    audiences.mkdir()
    (audiences / "b01_buyers.yaml").write_text("brand_id: B01\npurpose: marketing\naipl_states: [P, L]\n")
    monkeypatch.setenv("DATABANK_AUDIENCES__FOLDER", str(audiences))
    _store_quality_results(monkeypatch, [])
    return path


@pytest.fixture(scope="module")
def first_day(module_tmp):
    return write_warehouse(module_tmp("first-day") / "databank.duckdb", [FIRST_DAY])


@pytest.fixture(scope="module")
def two_weeks(module_tmp):
    return write_warehouse(module_tmp("two-weeks") / "databank.duckdb", TWO_WEEKS)


@pytest.fixture
def point_app_at(warehouse_path, monkeypatch):
    """Point the app at a warehouse the module built once (the app only reads it)."""

    def point_at(path):
        monkeypatch.setenv("DATABANK_WAREHOUSE_PATH", str(path))

    return point_at


def _store_quality_results(monkeypatch, rows: list[dict]) -> None:
    results = types.ModuleType(RESULTS_MODULE)
    results.read_results = lambda settings, since=None: pa.Table.from_pylist(rows, schema=QUALITY_SCHEMA)
    monkeypatch.setitem(sys.modules, RESULTS_MODULE, results)


def open_page(script: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=30).run()
    if script != PAGES[0].script:
        app.switch_page(script).run()
    return app


def every_page() -> list[tuple[str, dict[str, list[str]]]]:
    """Each page in turn, rendered by one app session."""
    app = AppTest.from_file(str(APP), default_timeout=30).run()
    rendered = []
    for page in PAGES:
        app.switch_page(page.script).run()
        rendered.append((page.script, _snapshot(app)))
    return rendered


def _snapshot(app: AppTest) -> dict[str, list[str]]:
    return {
        "exceptions": [e.value for e in app.exception],
        "errors": [e.value for e in app.error],
        "titles": [t.value for t in app.title],
        "infos": [i.value for i in app.info],
    }


def says(page: dict[str, list[str]], message: str | None, unless_quality: str) -> bool:
    """The page's info boxes hold `message` (none at all when None); the quality page, which reads
    no warehouse, says it has no results instead."""
    if unless_quality.endswith("quality.py"):
        message = "No quality results yet"
    shown = " ".join(page["infos"])
    return message in shown if message else not shown


def assert_clean(script: str, page: dict[str, list[str]]) -> None:
    """The page has its title and shows neither an exception nor an error box."""
    assert page["titles"], script
    assert not page["exceptions"], (script, page["exceptions"])
    assert not page["errors"], (script, page["errors"])


def assert_no_error(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def infos(app: AppTest) -> str:
    return " ".join(info.value for info in app.info)


def captions(app: AppTest) -> str:
    return " ".join(caption.value for caption in app.caption)


def metric(app: AppTest, label: str):
    return next(m for m in app.metric if m.label == label)


def test_before_the_first_night_every_page_says_so(warehouse_path):
    for script, page in every_page():
        assert_clean(script, page)
        assert says(page, "No night has been published yet", unless_quality=script), (script, page)


def test_an_empty_warehouse_file_says_it_holds_no_marts(warehouse_path):
    write_empty_warehouse(warehouse_path)

    for script, page in every_page():
        assert_clean(script, page)
        assert says(page, "holds no marts yet", unless_quality=script), (script, page)


def test_on_the_first_day_every_page_renders(point_app_at, first_day):
    point_app_at(first_day)

    for script, page in every_page():
        assert_clean(script, page)
        assert says(page, None, unless_quality=script), (script, page)


def test_on_the_first_day_the_funnel_says_there_is_no_week_before(point_app_at, first_day):
    point_app_at(first_day)

    app = open_page("views/funnel.py")

    assert metric(app, "A awareness").value == "100"
    assert metric(app, "A awareness").delta == ""
    assert f"is before the first published day, {FIRST_DAY}" in captions(app)


def test_brands_are_named_in_chinese(point_app_at, first_day):
    point_app_at(first_day)

    app = open_page("views/funnel.py")

    assert app.selectbox(key="brand").options == ["山岚 Shanlan (B01)", "青禾 Qinghe (B02)"]
    assert "山岚 Shanlan (B01)" in captions(app)


def test_the_funnel_compares_the_day_with_seven_days_before(point_app_at, two_weeks):
    point_app_at(two_weeks)
    a_now, i_now, _, _ = b01_funnel(13)
    a_before, i_before, _, _ = b01_funnel(6)

    app = open_page("views/funnel.py")

    assert_no_error(app)
    assert metric(app, "A awareness").value == f"{a_now:,}"
    assert metric(app, "A awareness").delta == f"+{a_now - a_before:,}"
    rate_now, rate_before = i_now / a_now, i_before / a_before
    assert metric(app, "Next-layer rate A → I").value == f"{rate_now:.1%}"
    assert metric(app, "Next-layer rate A → I").delta == f"{(rate_now - rate_before) * 100:+.1f} pp"
    assert f"Changes are against {LAST_DAY - timedelta(days=7)}" in captions(app)


def test_the_city_filter_shows_that_citys_funnel(point_app_at, two_weeks):
    point_app_at(two_weeks)
    app = open_page("views/funnel.py")

    app.selectbox(key="city").select("上海").run()

    a, i, _, _ = b01_shanghai(13)
    assert metric(app, "A awareness").value == str(a)
    assert metric(app, "Next-layer rate A → I").value == f"{i / a:.1%}"
    assert "city 上海" in captions(app)


def test_an_earlier_day_can_be_chosen(point_app_at, two_weeks):
    point_app_at(two_weeks)
    app = open_page("views/funnel.py")

    app.date_input(key=f"day-{LAST_DAY}").set_value(TWO_WEEKS[9]).run()

    assert metric(app, "A awareness").value == str(b01_funnel(9)[0])


def test_the_channel_filter_narrows_campaigns_and_feeds(point_app_at, two_weeks):
    point_app_at(two_weeks)
    app = open_page("views/campaigns.py")

    app.multiselect(key="channels").select("store").run()

    assert_no_error(app)
    assert app.dataframe[0].value["campaign_name"].tolist() == ["山岚门店互动屏"]
    app.switch_page("views/identification.py").run()
    assert sorted(app.dataframe[0].value["source_feed"]) == ["media_exposures", "pos_transactions"]


def test_campaign_costs_are_shown_in_the_brands_currency(point_app_at, two_weeks, monkeypatch):
    point_app_at(two_weeks)
    monkeypatch.setenv("DATABANK_CURRENCY", "EUR")
    app = open_page("views/campaigns.py")

    assert_no_error(app)
    [cost] = [metric for metric in app.metric if metric.label == "Media cost"]
    assert cost.value == "€300.00"  # the one campaign bought on a paid medium


def test_pages_without_a_channel_say_they_are_across_channels(point_app_at, two_weeks):
    point_app_at(two_weeks)

    app = open_page("views/fast.py")

    assert "across channels" in captions(app)


def test_the_flow_page_draws_the_chosen_days_as_a_sankey(point_app_at, two_weeks):
    point_app_at(two_weeks)

    app = open_page("views/flow.py")

    assert_no_error(app)
    assert app.radio(key="flow_start").value == LAST_DAY - timedelta(days=7)
    sankey = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]
    assert sankey["type"] == "sankey"
    assert sum(sankey["link"]["value"]) == 10 + 80 + 5 + 2 + 1 + 1
    assert app.dataframe[0].value["state"].tolist() == ["A awareness", "I interest", "P purchase"]


def test_trade_areas_show_stores_on_plain_coordinates(point_app_at, two_weeks):
    point_app_at(two_weeks)

    app = open_page("views/trade_areas.py")

    assert_no_error(app)
    stores = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][-1]
    assert stores["type"] == "scatter"  # no map tiles to fetch
    assert set(app.dataframe[0].value["store_name"]) == {"山岚上海旗舰店", "山岚北京快闪店"}


def test_a_newly_published_night_shows_on_the_next_run(warehouse_path):
    write_warehouse(warehouse_path, TWO_WEEKS[:-1])
    app = open_page("views/funnel.py")
    assert f"· {TWO_WEEKS[-2]} ·" in captions(app)

    tonight = write_warehouse(warehouse_path.with_name("databank.build.duckdb"), TWO_WEEKS)
    os.replace(tonight, warehouse_path)
    app.run()

    assert f"· {LAST_DAY} ·" in captions(app)
    assert metric(app, "A awareness").value == str(b01_funnel(13)[0])


def test_without_the_quality_results_module_the_quality_page_says_there_are_none(warehouse_path, monkeypatch):
    monkeypatch.setitem(sys.modules, RESULTS_MODULE, None)

    app = open_page("views/quality.py")

    assert_no_error(app)
    assert "No quality results yet" in infos(app)


def test_quality_shows_the_latest_days_failures_first_and_a_trend(warehouse_path, monkeypatch):
    def result(day: date, expectation: str, severity: str, success: bool) -> dict:
        return {
            "run_id": f"run-{day}",
            "run_date": day,
            "stage": "silver",
            "suite": "silver_orders",
            "asset": "silver.online_orders",
            "expectation": expectation,
            "severity": severity,
            "success": success,
            "observed_value": "3",
            "unexpected_count": 0 if success else 3,
            "details": "{}",
            "checked_at": datetime(day.year, day.month, day.day, 20, tzinfo=UTC),
        }

    rows = [
        result(FIRST_DAY, "amount_not_negative", "critical", False),
        result(LAST_DAY, "one_id_not_null", "warning", False),
        result(LAST_DAY, "amount_not_negative", "critical", False),
        result(LAST_DAY, "order_id_unique", "critical", True),
    ]
    _store_quality_results(monkeypatch, rows)

    app = open_page("views/quality.py")

    assert_no_error(app)
    assert metric(app, "Checks on the latest run day").value == "3"
    assert metric(app, "Failed, critical").value == "1"
    failures = app.dataframe[0].value
    assert failures["expectation"].tolist() == ["amount_not_negative", "one_id_not_null"]
    trend = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
    assert {bar["name"] for bar in trend} == {"critical", "warning"}


def test_a_flow_cell_is_saved_as_an_audience_from_the_flow_page(
    point_app_at, two_weeks, tmp_path, monkeypatch
):
    point_app_at(two_weeks)
    monkeypatch.setenv("DATABANK_AUDIENCES__FOLDER", str(tmp_path / "saved"))
    app = open_page("views/flow.py")

    app.selectbox(key="cell_d0").set_value("L")
    app.selectbox(key="cell_d1").set_value("P")
    app.text_input(key="cell_name").input("lapsing_loyal")
    app.radio(key="cell_purpose").set_value("ad_targeting")
    app.button[0].click().run()

    assert_no_error(app)
    saved = parse_definition(tmp_path / "saved" / "lapsing_loyal.yaml")
    assert (saved.brand_id, saved.purpose) == ("B01", "ad_targeting")
    assert saved.aipl_flow.model_dump() == {"state_d0": "L", "state_d1": "P", "lag_days": 7}
    assert "lapsing_loyal" in app.success[0].value


def test_the_audiences_page_sizes_and_profiles_the_brands_audience(point_app_at, two_weeks):
    point_app_at(two_weeks)

    app = open_page("views/audiences.py")

    assert_no_error(app)
    assert app.selectbox(key="audience_name").value == "b01_buyers"
    assert metric(app, "matched").value == "3"
    assert metric(app, "consenting").value == "2"
    assert metric(app, "brand's base").value == "5"
    cities = app.dataframe[1].value
    shanghai = cities[cities["value"] == "上海"].iloc[0]
    assert shanghai["audience"] == 2
    assert shanghai["tgi"] == pytest.approx(100 * (2 / 3) / (2 / 5))
