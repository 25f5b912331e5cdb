"""Audience definitions: what a YAML file may say, and the clear errors for what it may not."""

from pathlib import Path

import pytest

from databank.audiences import AudienceError, list_audiences, load_audience
from databank.resources import audience_examples_folder

REPO_AUDIENCES = audience_examples_folder()


def _load(tmp_path: Path, text: str):
    (tmp_path / "probe.yaml").write_text(text, encoding="utf-8")
    return load_audience(tmp_path, "probe").definition


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(AudienceError) as raised:
        _load(tmp_path, text)
    return str(raised.value)


def test_a_definition_loads_with_its_defaults(tmp_path):
    definition = _load(
        tmp_path,
        "brand_id: B1\npurpose: ad_targeting\ncampaign_exposure: {campaign_id: K1}\naipl_states: [A, I]\n",
    )

    assert definition.brand_id == "B1"
    assert definition.aipl_states == ("A", "I")
    assert definition.campaign_exposure.behaviours == (
        "impression",
        "video_view",
        "live_view",
        "click",
        "interactive",
    )
    assert definition.campaign_exposure.within_days is None


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('brand_id: "B1\' OR 1=1 --"\npurpose: marketing\naipl_states: [I]\n', "brand_id"),
        (
            "brand_id: B1\npurpose: marketing\n"
            'trade_area: {store_id: "S1; DROP TABLE marts.dim_consumers", rings: [1]}\n',
            "trade_area.store_id",
        ),
        (
            'brand_id: B1\npurpose: marketing\ncampaign_exposure: {campaign_id: "K1\') --"}\n',
            "campaign_exposure.campaign_id",
        ),
        ('brand_id: B1\npurpose: marketing\naipl_states: ["I\') OR true --"]\n', "aipl_states.0"),
        ('brand_id: B1\npurpose: "marketing\' --"\naipl_states: [I]\n', "purpose"),
    ],
)
def test_sql_fragments_in_values_are_rejected_naming_the_field(tmp_path, text, field):
    message = _error(tmp_path, text)

    assert f"{field}:" in message


def test_an_unknown_field_is_an_error_listing_the_known_ones(tmp_path):
    message = _error(tmp_path, "brand_id: B1\npurpose: marketing\naipl_states: [I]\nwhere: '1=1'\n")

    assert "where: unknown field" in message
    assert "last_seen_within_days" in message


def test_an_unknown_nested_field_is_an_error(tmp_path):
    message = _error(
        tmp_path, "brand_id: B1\npurpose: marketing\ntrade_area: {store_id: S1, rings: [1], km: 9}\n"
    )

    assert "trade_area.km: unknown field (known: store_id, rings)" in message


@pytest.mark.parametrize(
    ("criterion", "field"),
    [
        ("aipl_states: [X]", "aipl_states.0"),
        ("aipl_flow: {state_d0: L, state_d1: Q, lag_days: 7}", "aipl_flow.state_d1"),
        ("lifecycle_stages: [sleeping]", "lifecycle_stages.0"),
        ("rfm_classes: [vip]", "rfm_classes.0"),
        ("campaign_exposure: {campaign_id: K1, behaviours: [purchase]}", "campaign_exposure.behaviours.0"),
    ],
)
def test_unknown_values_are_rejected(tmp_path, criterion, field):
    message = _error(tmp_path, f"brand_id: B1\npurpose: marketing\n{criterion}\n")

    assert f"{field}: Input should be" in message


@pytest.mark.parametrize(
    ("criterion", "field"),
    [
        ("last_seen_within_days: -1", "last_seen_within_days"),
        ("last_seen_within_days: 0", "last_seen_within_days"),
        ("last_seen_within_days: true", "last_seen_within_days"),
        ("last_seen_within_days: 7.5", "last_seen_within_days"),
        ("aipl_flow: {state_d0: L, state_d1: P, lag_days: -7}", "aipl_flow.lag_days"),
        ("campaign_exposure: {campaign_id: K1, within_days: -3}", "campaign_exposure.within_days"),
        ("trade_area: {store_id: S1, rings: [0]}", "trade_area.rings.0"),
    ],
)
def test_windows_must_be_positive_whole_days(tmp_path, criterion, field):
    message = _error(tmp_path, f"brand_id: B1\npurpose: marketing\n{criterion}\n")

    assert f"{field}:" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("brand_id: B1\npurpose: marketing\n", "at least one criterion"),
        ("brand_id: B1\npurpose: marketing\naipl_states: []\n", "aipl_states"),
        ("purpose: marketing\naipl_states: [I]\n", "brand_id: Field required"),
        ("brand_id: B1\naipl_states: [I]\n", "purpose: Field required"),
        (
            "brand_id: B1\npurpose: marketing\naipl_states: [I]\n"
            "aipl_flow: {state_d0: I, state_d1: P, lag_days: 7}\n",
            "aipl_states or aipl_flow, not both",
        ),
        (
            "brand_id: B1\npurpose: marketing\naipl_flow: {state_d0: none, state_d1: none, lag_days: 7}\n",
            "none -> none",
        ),
        (
            "brand_id: B1\npurpose: marketing\naipl_states: [I]\npurpose: ad_targeting\n",
            "purpose given more than once",
        ),
        ("- brand_id: B1\n", "must hold a mapping"),
        ("", "must hold a mapping"),
        ("brand_id: [B1\n", "not valid YAML"),
    ],
)
def test_malformed_definitions_say_what_is_wrong(tmp_path, text, expected):
    assert expected in _error(tmp_path, text)


@pytest.mark.parametrize("name", ["../secrets", "a/b", "x.yaml", "", "B1' --"])
def test_an_audience_name_cannot_leave_the_folder(tmp_path, name):
    with pytest.raises(AudienceError, match="is not an audience name"):
        load_audience(tmp_path, name)


def test_a_missing_audience_says_where_it_was_looked_for(tmp_path):
    with pytest.raises(AudienceError, match=r"no audience 'nobody'.*nobody\.yaml does not exist"):
        load_audience(tmp_path, "nobody")


def test_list_shows_valid_definitions_and_the_error_of_invalid_ones(tmp_path):
    (tmp_path / "good.yaml").write_text("brand_id: B1\npurpose: marketing\naipl_states: [L]\n")
    (tmp_path / "bad.yaml").write_text("brand_id: B1\npurpose: marketing\naipl_states: [Z]\n")

    listed = dict(list_audiences(tmp_path))

    assert listed["good"].definition.aipl_states == ("L",)
    assert isinstance(listed["bad"], AudienceError)


def test_the_shipped_examples_are_valid_definitions():
    listed = list_audiences(REPO_AUDIENCES)

    assert len(listed) >= 3
    assert [name for name, audience in listed if isinstance(audience, AudienceError)] == []


@pytest.mark.parametrize(
    "criterion",
    [
        "last_seen_within_days: 99999999999",
        "campaign_exposure: {campaign_id: K1, within_days: 1000000000}",
        "aipl_flow: {state_d0: I, state_d1: P, lag_days: 4000}",
    ],
)
def test_a_window_longer_than_ten_years_is_refused_with_the_limit(tmp_path, criterion):
    assert "less than or equal to 3650" in _error(
        tmp_path, f"brand_id: B1\npurpose: marketing\n{criterion}\n"
    )


def test_a_yaml_alias_bomb_is_refused_in_a_short_message(tmp_path):
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    bomb = "brand_id: B1\npurpose: marketing\n" + "\n".join(levels) + "\naipl_states: *a7\n"

    message = _error(tmp_path, bomb)

    assert "aliases" in message
    assert len(message) < 2_000


def test_many_invalid_values_give_a_bounded_message(tmp_path):
    states = ", ".join(f"X{i}" for i in range(5_000))

    message = _error(tmp_path, f"brand_id: B1\npurpose: marketing\naipl_states: [{states}]\n")

    assert "aipl_states.0" in message
    assert "more problems" in message
    assert len(message) < 4_000


def test_a_definition_file_larger_than_the_limit_is_refused_unread(tmp_path):
    padding = "# " + "x" * 1_000 + "\n"

    message = _error(tmp_path, "brand_id: B1\npurpose: marketing\naipl_states: [I]\n" + padding * 100)

    assert "larger than" in message
