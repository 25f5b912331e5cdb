"""Criteria combined with all_of, any_of and none_of, per brand (the cross-brand case), and saved
audiences inside others; each against a hand-built warehouse with the exact consumers expected."""

from datetime import timedelta

import duckdb
import pytest
from audience_warehouse import RUN_DAY, build_warehouse, spell, touch
from pydantic import ValidationError

from databank.audiences import AudienceDefinition, AudienceError, compile_audience
from databank.audiences.checks import check_against_warehouse
from databank.audiences.definition import parse_definition, saved_audiences


@pytest.fixture
def warehouse(tmp_path):
    """Brand B1 and B2 states; c_p_a: P of B1 and A of B2, c_p_none: P of B1 only, c_l_i: L of B1 and
    I of B2, c_i: I of B1, c_a: A of B1 with a click of campaign K1 today."""
    return build_warehouse(
        tmp_path / "w.duckdb",
        spells=(
            spell("c_p_a", "P"),
            spell("c_p_a", "A", brand_id="B2"),
            spell("c_p_none", "P"),
            spell("c_l_i", "L"),
            spell("c_l_i", "I", brand_id="B2"),
            spell("c_i", "I"),
            spell("c_a", "A"),
        ),
        touches=(touch("c_a", "click", campaign_id="K1"),),
    )


def _matched(warehouse, definition: dict, folder=None) -> set[str]:
    parsed = AudienceDefinition.model_validate({"brand_id": "B1", "purpose": "marketing", **definition})
    resolve = saved_audiences(folder) if folder else None
    compiled = compile_audience(parsed, RUN_DAY, "has_marketing_consent", resolve)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {row[0] for row in con.execute(compiled.sql, compiled.parameters).fetchall()}


def test_any_of_is_or_and_all_of_is_and(warehouse):
    assert _matched(warehouse, {"any_of": [{"aipl_states": ["P"]}, {"aipl_states": ["L"]}]}) == {
        "c_p_a",
        "c_p_none",
        "c_l_i",
    }
    both = {"all_of": [{"aipl_states": ["P", "L"]}, {"brand_id": "B2", "aipl_states": ["A", "I"]}]}
    assert _matched(warehouse, both) == {"c_p_a", "c_l_i"}


def test_purchasers_of_one_brand_not_aware_or_interested_in_another(warehouse):
    cross_brand = {"aipl_states": ["P"], "none_of": [{"brand_id": "B2", "aipl_states": ["A", "I"]}]}
    assert _matched(warehouse, cross_brand) == {"c_p_none"}


def test_blocks_nest_and_bind_their_values_apart(warehouse):
    nested = {
        "any_of": [
            {"aipl_states": ["I"]},
            {"all_of": [{"aipl_states": ["A"]}, {"campaign_exposure": {"campaign_id": "K1"}}]},
        ],
        "none_of": [
            {"aipl_states": ["A"], "campaign_exposure": {"campaign_id": "K1", "behaviours": ["impression"]}}
        ],
    }
    assert _matched(warehouse, nested) == {"c_i", "c_a"}


def test_a_saved_audience_is_a_criterion_and_can_be_excluded(warehouse, tmp_path):
    folder = tmp_path / "audiences"
    folder.mkdir()
    (folder / "buyers.yaml").write_text("brand_id: B1\npurpose: marketing\naipl_states: [P, L]\n")
    (folder / "b2_aware.yaml").write_text("brand_id: B2\npurpose: ad_targeting\naipl_states: [A, I]\n")

    assert _matched(warehouse, {"audience": "buyers"}, folder) == {"c_p_a", "c_p_none", "c_l_i"}
    excluded = {"audience": "buyers", "none_of": [{"audience": "b2_aware"}]}
    assert _matched(warehouse, excluded, folder) == {"c_p_none"}
    either = {"any_of": [{"audience": "b2_aware"}, {"aipl_states": ["I"]}]}
    assert _matched(warehouse, either, folder) == {"c_p_a", "c_l_i", "c_i"}


def test_audiences_naming_each_other_in_a_circle_are_refused(warehouse, tmp_path):
    folder = tmp_path / "audiences"
    folder.mkdir()
    (folder / "one.yaml").write_text("brand_id: B1\npurpose: marketing\naudience: two\n")
    (folder / "two.yaml").write_text("brand_id: B1\npurpose: marketing\naudience: one\n")
    with pytest.raises(AudienceError, match="in a circle: one -> two -> one"):
        _matched(warehouse, {"audience": "one"}, folder)
    with pytest.raises(AudienceError, match="no audience 'three'"):
        _matched(warehouse, {"audience": "three"}, folder)


def test_the_warehouse_check_reaches_into_blocks(warehouse):
    definition = AudienceDefinition.model_validate(
        {
            "brand_id": "B1",
            "purpose": "marketing",
            "aipl_states": ["P"],
            "none_of": [{"brand_id": "B9", "aipl_states": ["A"]}],
            "any_of": [{"campaign_exposure": {"campaign_id": "K2"}}],
        }
    )
    with (
        duckdb.connect(str(warehouse), read_only=True) as con,
        pytest.raises(AudienceError) as raised,
    ):
        check_against_warehouse(con, definition, RUN_DAY)
    assert "no brand 'B9'" in str(raised.value)
    assert "campaign 'K2' is of brand 'B2', not 'B1'" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("any_of: []\n", "at least 1 item"),
        ("any_of: [{}]\n", "at least one criterion is needed"),
        ("any_of: [{aipl_states: [P], colour: red}]\n", "unknown field"),
        ("none_of: [{brand_id: 'B1; drop table x', aipl_states: [P]}]\n", "is not an id"),
        ("audience: ../secrets\n", "is not an audience name"),
    ],
)
def test_malformed_blocks_say_what_is_wrong(tmp_path, text, expected):
    path = tmp_path / "a.yaml"
    path.write_text("brand_id: B1\npurpose: marketing\n" + text)
    with pytest.raises(AudienceError, match=expected):
        parse_definition(path)


def test_nesting_and_block_count_are_bounded():
    def nested(depth):
        return {"aipl_states": ["P"]} if depth == 0 else {"any_of": [nested(depth - 1)]}

    AudienceDefinition.model_validate({"brand_id": "B1", "purpose": "marketing", **nested(5)})
    with pytest.raises(ValidationError, match="blocks nest 6 deep; at most 5"):
        AudienceDefinition.model_validate({"brand_id": "B1", "purpose": "marketing", **nested(6)})
    many = {"any_of": [{"aipl_states": ["P"]}] * 51}
    with pytest.raises(ValidationError, match="51 blocks; at most 50"):
        AudienceDefinition.model_validate({"brand_id": "B1", "purpose": "marketing", **many})


def test_a_window_inside_a_block_is_read_back_from_the_run_day(tmp_path):
    warehouse = build_warehouse(
        tmp_path / "w.duckdb",
        spells=(spell("c_recent", "I"), spell("c_stale", "I")),
        touches=(
            touch("c_recent", "page_view", RUN_DAY - timedelta(days=2)),
            touch("c_stale", "page_view", RUN_DAY - timedelta(days=20)),
        ),
    )
    assert _matched(warehouse, {"aipl_states": ["I"], "none_of": [{"last_seen_within_days": 7}]}) == {
        "c_stale"
    }


def test_none_of_keeps_a_consumer_a_block_cannot_place(tmp_path):
    """An unresolved touch (no one_id) of the brand puts a null in the block's subquery; `not in` over
    it is null, which must not drop every consumer the block does not hold."""
    warehouse = build_warehouse(
        tmp_path / "w.duckdb",
        spells=(spell("c_recent", "I"), spell("c_stale", "I")),
        touches=(touch("c_recent", "page_view", RUN_DAY),),
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into marts.fct_touchpoints values (null, 'B1', 'page_view', ?, null)", [RUN_DAY])

    assert _matched(warehouse, {"aipl_states": ["I"], "none_of": [{"last_seen_within_days": 7}]}) == {
        "c_stale"
    }


def test_saved_audiences_are_capped_so_a_chain_cannot_grow_the_query_exponentially(warehouse, tmp_path):
    folder = tmp_path / "audiences"
    folder.mkdir()
    (folder / "level0.yaml").write_text("brand_id: B1\npurpose: marketing\naipl_states: [P]\n")
    for level in range(1, 6):  # each names the one below twice: 2 + 4 + ... + 32 references
        below = f"level{level - 1}"
        (folder / f"level{level}.yaml").write_text(
            f"brand_id: B1\npurpose: marketing\nany_of: [{{audience: {below}}}, {{audience: {below}}}]\n"
        )
    assert _matched(warehouse, {"audience": "level3"}, folder) == {"c_p_a", "c_p_none"}  # 14 references
    with pytest.raises(AudienceError, match="more than 20 saved audiences"):
        _matched(warehouse, {"audience": "level5"}, folder)
