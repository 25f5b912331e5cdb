"""Audiences on the published warehouse: sizes equal a count made independently from the marts with
pandas (and the marts' own counts where they have one), and no export holds a non-consenting consumer."""

from datetime import timedelta

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from databank.audiences import export_audience, size_audience
from databank.config import load_settings

MARTS = (
    "dim_consumers",
    "dim_memberships",
    "aipl_state_history",
    "aipl_flow",
    "fct_touchpoints",
    "consumer_rfm",
    "store_trade_areas",
    "aipl_daily_funnel",
)


@pytest.fixture(scope="module")
def marts(published) -> dict[str, pd.DataFrame]:
    """The marts read here, and OneID's history of merges and splits (silver.one_id_history)."""
    settings, _ = published
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tables = {name: con.sql(f"select * from marts.{name}").df() for name in MARTS}
        tables["one_id_history"] = con.sql("select * from silver.one_id_history").df()
        return tables


@pytest.fixture(scope="module")
def run_date(marts):
    return marts["aipl_daily_funnel"]["funnel_date"].max().date()


@pytest.fixture(scope="module")
def brand_id(marts) -> str:
    """The brand with the most active members, so that consent splits its audiences."""
    members = marts["dim_memberships"]
    return members[members["is_active"]]["brand_id"].value_counts().idxmax()


@pytest.fixture
def settings(published, tmp_path):
    published_settings, _ = published
    folder = tmp_path / "audiences"
    folder.mkdir()
    return load_settings(
        data_dir=tmp_path,
        warehouse_path=published_settings.warehouse,
        audiences={"folder": folder, "min_export_size": 1},
    )


def _states_on(marts, brand_id, day) -> pd.Series:
    """State of every consumer of dim_consumers for the brand on `day` ('none' without a spell)."""
    spells = marts["aipl_state_history"]
    spells = spells[spells["brand_id"] == brand_id]
    valid_from = pd.to_datetime(spells["valid_from"]).dt.date
    valid_to = pd.to_datetime(spells["valid_to"]).dt.date
    holding = spells[(valid_from <= day) & (spells["valid_to"].isna() | (valid_to > day))]
    states = holding.set_index("one_id")["state"]
    return (
        marts["dim_consumers"]["one_id"].map(states).fillna("none").set_axis(marts["dim_consumers"]["one_id"])
    )


def _states_followed_one_night(marts, brand_id, d0) -> pd.Series:
    """The d0 state of each consumer of the next day, followed through that night's merges and splits
    (docs/aipl.md: a flow follows the consumer): the deepest state of the ids that became it."""
    depth = ["O", "A", "I", "P", "L"]
    spells = marts["aipl_state_history"]
    spells = spells[spells["brand_id"] == brand_id]
    valid_from = pd.to_datetime(spells["valid_from"]).dt.date
    valid_to = pd.to_datetime(spells["valid_to"]).dt.date
    held = spells[(valid_from <= d0) & (spells["valid_to"].isna() | (valid_to > d0))][["one_id", "state"]]
    changes = marts["one_id_history"]
    night = changes[pd.to_datetime(changes["day"]).dt.date == d0 + timedelta(days=1)]
    merged_away = set(night[night["cause"] == "merge"]["old_one_id"])
    successors = pd.concat(
        [
            pd.DataFrame({"old": held["one_id"], "one_id": held["one_id"]}).pipe(
                lambda kept: kept[~kept["old"].isin(merged_away)]
            ),
            night.rename(columns={"old_one_id": "old", "new_one_id": "one_id"})[["old", "one_id"]],
        ]
    )
    followed = held.rename(columns={"one_id": "old"}).merge(successors, on="old")
    deepest = followed.assign(depth=followed["state"].map(depth.index)).groupby("one_id")["depth"].max()
    return deepest.map(lambda rank: depth[rank])


def _consenting(marts, brand_id, flag) -> set[str]:
    """Consumers whose every active membership of the brand carries `flag` (and who hold at least one)."""
    members = marts["dim_memberships"]
    active = members[(members["brand_id"] == brand_id) & members["is_active"] & members["one_id"].notna()]
    consents = (
        active.assign(consents=active[flag].fillna(False).astype(bool)).groupby("one_id")["consents"].all()
    )
    return set(consents[consents].index)


def _touched(marts, since, until, **equal) -> set[str]:
    touches = marts["fct_touchpoints"]
    day = pd.to_datetime(touches["touched_date"]).dt.date
    chosen = (day >= since) & (day <= until)
    for column, value in equal.items():
        chosen &= touches[column].isin(value) if isinstance(value, list) else touches[column] == value
    return set(touches[chosen]["one_id"])


def _size(settings, name, yaml_text):
    (settings.audiences.folder / f"{name}.yaml").write_text(yaml_text)
    return size_audience(settings, name)


def _assert_counts(size, matched: set[str], consenting: set[str]) -> None:
    assert size.matched == len(matched)
    assert size.consenting == len(matched & consenting)
    assert size.excluded_no_consent == len(matched - consenting)


def test_states_seen_recently_match_an_independent_count(settings, marts, brand_id, run_date):
    size = _size(
        settings,
        "engaged",
        f"brand_id: {brand_id}\npurpose: marketing\naipl_states: [I, P, L]\nlast_seen_within_days: 2\n",
    )

    states = _states_on(marts, brand_id, run_date)
    in_state = set(states[states.isin(["I", "P", "L"])].index)
    seen = _touched(marts, run_date - timedelta(days=1), run_date, brand_id=brand_id)
    assert size.run_date == run_date
    assert size.matched > 0
    _assert_counts(size, in_state & seen, _consenting(marts, brand_id, "has_marketing_consent"))


def test_a_flow_cell_matches_aipl_flow_and_an_independent_count(settings, marts, brand_id, run_date):
    flow = marts["aipl_flow"]
    cells = flow[
        (flow["brand_id"] == brand_id)
        & (pd.to_datetime(flow["d1"]).dt.date == run_date)
        & (flow["lag_days"] == 1)
        & (flow["state_d0"] != flow["state_d1"])
        & (flow["state_d0"] != "none")
        & (flow["state_d1"] != "none")
    ]
    cell = cells.sort_values("consumers", ascending=False).iloc[0]
    size = _size(
        settings,
        "moved",
        f"brand_id: {brand_id}\npurpose: ad_targeting\n"
        f"aipl_flow: {{state_d0: {cell.state_d0}, state_d1: {cell.state_d1}, lag_days: 1}}\n",
    )

    after = _states_on(marts, brand_id, run_date)
    before = _states_followed_one_night(marts, brand_id, run_date - timedelta(days=1))
    before = before.reindex(after.index).fillna("none")
    moved = set(before[(before == cell.state_d0) & (after == cell.state_d1)].index)
    assert size.matched == cell.consumers > 0
    _assert_counts(size, moved, _consenting(marts, brand_id, "has_ad_targeting_consent"))


def test_a_trade_area_matches_the_consumers_store_trade_areas_counts(settings, marts, run_date):
    areas = marts["store_trade_areas"]
    by_store = areas.groupby(["store_id", "brand_id"])["consumers"].sum().sort_values(ascending=False)
    (store_id, store_brand), consumers = by_store.index[0], by_store.iloc[0]
    size = _size(
        settings,
        "around",
        f"brand_id: {store_brand}\npurpose: ad_targeting\n"
        f"trade_area: {{store_id: {store_id}, rings: [1, 2]}}\n",
    )

    assert size.matched == consumers > 0


def test_campaign_exposure_and_rfm_match_an_independent_count(settings, marts, brand_id, run_date):
    touches = marts["fct_touchpoints"]
    exposed = touches[(touches["brand_id"] == brand_id) & touches["campaign_id"].notna()]
    campaign_id = exposed["campaign_id"].value_counts().idxmax()
    size = _size(
        settings,
        "retarget",
        f"brand_id: {brand_id}\npurpose: marketing\n"
        f"campaign_exposure: {{campaign_id: {campaign_id}, behaviours: [impression, click]"
        ", within_days: 2}\n",
    )
    rfm_size = _size(
        settings,
        "valuable",
        f"brand_id: {brand_id}\npurpose: marketing\nrfm_classes: [important_value, general_value]\n",
    )

    since = run_date - timedelta(days=1)
    reached = _touched(marts, since, run_date, campaign_id=campaign_id, behaviour=["impression", "click"])
    rfm = marts["consumer_rfm"]
    valuable = set(
        rfm[(rfm["brand_id"] == brand_id) & rfm["rfm_class"].isin(["important_value", "general_value"])][
            "one_id"
        ]
    ) & set(marts["dim_consumers"]["one_id"])
    consenting = _consenting(marts, brand_id, "has_marketing_consent")
    assert size.matched > 0
    _assert_counts(size, reached, consenting)
    _assert_counts(rfm_size, valuable, consenting)


@pytest.mark.parametrize("purpose", ["marketing", "ad_targeting"])
def test_an_export_holds_only_consenting_members_with_their_own_member_ids(
    settings, marts, brand_id, purpose
):
    (settings.audiences.folder / "everyone.yaml").write_text(
        f"brand_id: {brand_id}\npurpose: {purpose}\naipl_states: [none, O, A, I, P, L]\n"
    )

    export = export_audience(settings, "everyone")

    keys = pq.read_table(export.file).to_pandas()
    flag = f"has_{purpose}_consent"
    consenting = _consenting(marts, brand_id, flag)
    members = marts["dim_memberships"]
    withheld = members[(members["brand_id"] == brand_id) & ~members[flag].fillna(False).astype(bool)]
    assert len(keys) == export.size.consenting == len(consenting) > 0
    assert set(keys["one_id"]) == consenting
    assert not set(keys["member_id_hmac"]) & set(withheld["member_id_hmac"])
    granted = members[(members["brand_id"] == brand_id) & members["is_active"] & members[flag].fillna(False)]
    assert set(zip(keys["one_id"], keys["member_id_hmac"], strict=True)) <= set(
        zip(granted["one_id"], granted["member_id_hmac"], strict=True)
    )
    assert export.size.matched == len(marts["dim_consumers"])
