"""Feed contracts: every YAML in schemas/ loads, and a contract naming a column it lacks is refused."""

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from databank.contracts import SCHEMAS_DIR, Column, all_contracts, feeds, load_contract

SCHEMA_FILES = sorted(SCHEMAS_DIR.glob("*.yaml"))


def _tiny_contract() -> dict:
    """A minimal valid event contract, as its YAML would hold it."""
    return {
        "feed": "tiny_feed",
        "version": 1,
        "description": "A feed for tests.",
        "format": "jsonl",
        "grain": "event",
        "file_pattern": "tiny_{yyyymmdd}.jsonl",
        "record_id": "event_id",
        "columns": [
            {"name": "event_id", "type": "string", "required": True, "description": "Id."},
            {"name": "platform", "type": "string", "required": True, "description": "Platform."},
            {
                "name": "account_id",
                "type": "string",
                "required": False,
                "identifier": {"type": "account_id", "namespace_column": "platform"},
                "description": "Account.",
            },
        ],
    }


def _write(schemas_dir: Path, contract: dict) -> None:
    (schemas_dir / f"{contract['feed']}.yaml").write_text(yaml.safe_dump(contract))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.stem)
def test_every_schema_file_loads_as_the_feed_it_is_named_after(path):
    contract = load_contract(path.stem)

    assert contract.feed == path.stem
    assert contract.record_id in contract.column_names


def test_all_contracts_holds_one_contract_per_schema_file():
    assert sorted(all_contracts()) == [p.stem for p in SCHEMA_FILES]


def test_a_valid_contract_in_another_folder_loads(tmp_path):
    _write(tmp_path, _tiny_contract())

    contract = load_contract("tiny_feed", schemas_dir=tmp_path)

    assert contract.identifier_columns[0].identifier.namespace_column == "platform"


def test_a_record_id_that_is_not_a_column_is_refused(tmp_path):
    _write(tmp_path, _tiny_contract() | {"record_id": "order_id"})

    with pytest.raises(ValidationError, match=r"unknown columns \['order_id'\]"):
        load_contract("tiny_feed", schemas_dir=tmp_path)


def test_an_identifier_namespace_that_is_not_a_column_is_refused(tmp_path):
    contract = _tiny_contract()
    contract["columns"][2]["identifier"]["namespace_column"] = "account_platform"
    _write(tmp_path, contract)

    with pytest.raises(ValidationError, match=r"unknown columns \['account_platform'\]"):
        load_contract("tiny_feed", schemas_dir=tmp_path)


def test_event_feeds_are_the_five_journey_feeds():
    assert feeds("event") == [
        "lbs_pings",
        "media_exposures",
        "online_events",
        "online_orders",
        "pos_transactions",
    ]


def test_only_a_plain_string_column_can_be_free_text():
    with pytest.raises(ValidationError, match="only a string column"):
        Column(
            name="phone",
            type="string",
            required=False,
            description="d",
            free_text=True,
            identifier={"type": "phone"},
        )
    with pytest.raises(ValidationError, match="only a string column"):
        Column(name="rating", type="int", required=False, description="d", free_text=True)
    assert [c.name for c in load_contract("online_events").free_text_columns] == ["search_keyword"]


@pytest.mark.parametrize(
    ("feed", "column"), [("media_exposures", "media"), ("campaigns", "media"), ("online_orders", "platform")]
)
def test_media_and_platforms_are_any_lower_case_name_not_a_closed_list(feed, column):
    # A brand buys media and sells on platforms the generator never heard of; a name is only held to
    # a form (lower case, no spaces) that a source mapping can bring any source's spelling to.
    rule = load_contract(feed).column(column)

    assert rule.enum is None
    assert all(
        re.fullmatch(rule.pattern, name) for name in ("douyin", "meta", "google_ads", "instore_screen")
    )
    assert not any(re.fullmatch(rule.pattern, name) for name in ("Meta", "google ads", "", "抖音"))
