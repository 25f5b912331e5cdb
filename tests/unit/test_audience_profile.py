"""An audience's profile against its brand's base equals a count made independently with pandas from
the rows the test warehouse was built with; the command prints it and its JSON holds the same."""

import json

import pandas as pd
import pytest
from audience_warehouse import RUN_DAY, audience_settings, build_warehouse, spell, write_audience
from typer.testing import CliRunner

from databank.audiences.profile import profile_audience
from databank.cli import app

STATES = {"c1": "P", "c2": "P", "c3": "L", "c4": "I", "c5": "A", "c6": "I", "c7": "A"}
CITIES = {"c1": "杭州", "c2": "上海", "c3": "杭州", "c4": "杭州", "c5": "上海", "c6": "北京"}
LIFECYCLE = {"c1": "active", "c2": "new", "c3": "active", "c4": "new"}
RFM = {"c1": "important_value", "c3": "important_value", "c2": "general_value"}
OUTSIDER = "c_b2"  # in brand B2's funnel only: in neither the B1 audience nor the B1 base
AUDIENCE = ("c1", "c2", "c3")  # P or L of B1


@pytest.fixture
def settings(tmp_path):
    warehouse = build_warehouse(
        tmp_path / "w.duckdb",
        spells=(*(spell(c, s) for c, s in STATES.items()), spell(OUTSIDER, "L", brand_id="B2")),
        lifecycle=tuple((c, "B1", stage) for c, stage in LIFECYCLE.items()),
        rfm=tuple((c, "B1", rfm_class) for c, rfm_class in RFM.items()),
        cities={**CITIES, OUTSIDER: "杭州"},
    )
    settings = audience_settings(tmp_path, warehouse)
    write_audience(settings, "buyers", "brand_id: B1\npurpose: marketing\naipl_states: [P, L]\n")
    return settings


def _expected() -> pd.DataFrame:
    """The profile computed from the test's own dictionaries."""
    people = pd.DataFrame({"one_id": list(STATES)})
    people["aipl_state"] = people["one_id"].map(STATES)
    people["home_city"] = people["one_id"].map(CITIES).fillna("unknown")
    people["lifecycle_stage"] = people["one_id"].map(LIFECYCLE).fillna("unknown")
    people["rfm_class"] = people["one_id"].map(RFM).fillna("unknown")
    people["in_audience"] = people["one_id"].isin(AUDIENCE)
    frames = []
    for dimension in ("aipl_state", "home_city", "lifecycle_stage", "rfm_class"):
        counted = people.groupby(dimension).agg(audience=("in_audience", "sum"), base=("one_id", "size"))
        counted["audience_share"] = counted["audience"] / counted["audience"].sum()
        counted["base_share"] = counted["base"] / counted["base"].sum()
        counted["tgi"] = 100 * counted["audience_share"] / counted["base_share"]
        frames.append(counted.reset_index(names="value").assign(dimension=dimension))
    return pd.concat(frames).set_index(["dimension", "value"]).sort_index()


def test_the_profile_equals_an_independent_count_with_tgi(settings):
    profile = profile_audience(settings, "buyers")
    got = pd.DataFrame([vars(row) for row in profile.rows]).set_index(["dimension", "value"]).sort_index()
    expected = _expected()[got.columns]

    assert (profile.audience, profile.base, profile.run_date) == (3, 7, RUN_DAY)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert got.loc[("home_city", "杭州"), "tgi"] == pytest.approx(100 * (2 / 3) / (3 / 7))


def test_the_command_prints_each_dimension_and_its_json_holds_the_rows(settings, monkeypatch):
    monkeypatch.setenv("DATABANK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATABANK_WAREHOUSE_PATH", str(settings.warehouse))
    monkeypatch.setenv("DATABANK_AUDIENCES__FOLDER", str(settings.audiences.folder))
    monkeypatch.setenv("COLUMNS", "200")

    printed = CliRunner().invoke(app, ["audience", "profile", "buyers"])
    as_json = CliRunner().invoke(app, ["audience", "profile", "buyers", "--json"])

    assert printed.exit_code == 0, printed.output
    for dimension in ("aipl_state", "home_city", "lifecycle_stage", "rfm_class"):
        assert dimension in printed.output
    document = json.loads(as_json.stdout)
    assert (document["audience"], document["base"]) == (3, 7)
    hangzhou = next(r for r in document["rows"] if r["dimension"] == "home_city" and r["value"] == "杭州")
    assert (hangzhou["audience"], hangzhou["base"]) == (2, 3)
