"""Sizing and exporting: consent decides who leaves, a minimum size guards re-identification, and
every export leaves a file of pseudonymous keys, a manifest and a log line."""

import hashlib
import json

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from audience_warehouse import RUN_DAY, audience_settings, build_warehouse, member, spell, write_audience

from databank.audiences import ACTIVATION_KEYS, AudienceError, export_audience, size_audience

LOYAL_MARKETING = "brand_id: B1\npurpose: marketing\naipl_states: [L]\n"
LOYAL_ADS = "brand_id: B1\npurpose: ad_targeting\naipl_states: [L]\n"


@pytest.fixture
def warehouse(tmp_path):
    """Nine loyal consumers of B1; only c_ok1..c_ok3 consent to marketing."""
    loyal = ("c_ok1", "c_ok2", "c_ok3", "c_no_marketing", "c_unknown_consent", "c_lapsed", "c_no_member")
    loyal += ("c_other_brand", "c_withdrew_on_one_card")
    return build_warehouse(
        tmp_path / "w.duckdb",
        spells=(*(spell(one_id, "L") for one_id in loyal), spell("c_interest_ok", "I")),
        memberships=(
            member("c_ok1"),
            member("c_ok2"),
            member("c_ok3", ad_targeting=False),
            member("c_interest_ok"),
            member("c_no_marketing", marketing=False),
            member("c_unknown_consent", marketing=None),
            member("c_lapsed", active=False),
            member("c_other_brand", "B2"),
            member("c_withdrew_on_one_card", card="1"),
            member("c_withdrew_on_one_card", marketing=False, card="2"),
        ),
    )


def _exported_ids(export) -> set[str]:
    return set(pq.read_table(export.file).column("one_id").to_pylist())


def test_size_counts_matched_consenting_and_whether_export_is_allowed(tmp_path, warehouse):
    settings = audience_settings(tmp_path, warehouse, min_export_size=3)
    write_audience(settings, "loyal", LOYAL_MARKETING)

    size = size_audience(settings, "loyal")

    assert (size.run_date, size.matched, size.consenting, size.excluded_no_consent) == (RUN_DAY, 9, 3, 6)
    assert size.consent_flag == "has_marketing_consent"
    assert size.export_allowed


def test_only_consenting_members_of_the_brand_are_exported(tmp_path, warehouse):
    settings = audience_settings(tmp_path, warehouse)
    write_audience(settings, "loyal", LOYAL_MARKETING)

    export = export_audience(settings, "loyal")

    assert _exported_ids(export) == {"c_ok1", "c_ok2", "c_ok3"}


def test_the_purpose_decides_which_consent_flag_applies(tmp_path, warehouse):
    settings = audience_settings(tmp_path, warehouse)
    write_audience(settings, "loyal_ads", LOYAL_ADS)

    export = export_audience(settings, "loyal_ads")

    assert _exported_ids(export) == {
        "c_ok1",
        "c_ok2",
        "c_no_marketing",
        "c_unknown_consent",
        "c_withdrew_on_one_card",
    }


def test_the_consent_flag_per_purpose_is_configuration(tmp_path, warehouse):
    settings = audience_settings(tmp_path, warehouse, consent_flags={"marketing": "has_ad_targeting_consent"})
    write_audience(settings, "loyal", LOYAL_MARKETING)

    size = size_audience(settings, "loyal")

    assert size.consent_flag == "has_ad_targeting_consent"
    assert size.consenting == 5


def test_too_small_a_consenting_audience_is_refused_and_nothing_is_written(tmp_path, warehouse):
    settings = audience_settings(tmp_path, warehouse, min_export_size=4)
    write_audience(settings, "loyal", LOYAL_MARKETING)

    with pytest.raises(
        AudienceError, match="has 3 consenting consumers on 2026-05-14, fewer than the minimum of 4"
    ):
        export_audience(settings, "loyal")

    assert not settings.audience_exports.exists()
    assert not size_audience(settings, "loyal").export_allowed


def test_the_manifest_describes_the_export_and_its_file(tmp_path, warehouse):
    settings = audience_settings(tmp_path, warehouse)
    write_audience(settings, "loyal", LOYAL_MARKETING)

    export = export_audience(settings, "loyal")

    manifest = json.loads(export.manifest.read_text())
    assert export.manifest.parent == export.file.parent
    assert manifest["name"] == "loyal"
    assert manifest["definition"] == {
        "description": "",
        "brand_id": "B1",
        "purpose": "marketing",
        "aipl_states": ["L"],
    }
    assert manifest["run_date"] == "2026-05-14"
    assert manifest["counts"] == {"matched": 9, "excluded_no_consent": 6, "exported": 3}
    assert manifest["file"] == export.file.name
    assert manifest["sha256"] == hashlib.sha256(export.file.read_bytes()).hexdigest()
    assert manifest["columns"] == list(ACTIVATION_KEYS)
    assert manifest["created_at"].startswith("20")


def test_every_export_appends_one_line_to_the_log(tmp_path, warehouse):
    settings = audience_settings(tmp_path, warehouse)
    write_audience(settings, "loyal", LOYAL_MARKETING)
    write_audience(settings, "loyal_ads", LOYAL_ADS)

    first = export_audience(settings, "loyal")
    second = export_audience(settings, "loyal_ads", "csv")

    lines = [json.loads(line) for line in first.log.read_text().splitlines()]
    assert first.log == second.log == settings.audience_exports / "exports.log.jsonl"
    assert [(line["name"], line["file"], line["sha256"]) for line in lines] == [
        ("loyal", str(first.file), first.sha256),
        ("loyal_ads", str(second.file), second.sha256),
    ]
    assert lines[0]["counts"] == {"matched": 9, "excluded_no_consent": 6, "exported": 3}


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_the_file_holds_only_the_activation_keys(tmp_path, warehouse, file_format):
    settings = audience_settings(tmp_path, warehouse)
    write_audience(settings, "loyal", LOYAL_MARKETING)

    export = export_audience(settings, "loyal", file_format)

    keys = pq.read_table(export.file) if file_format == "parquet" else pa_csv.read_csv(export.file)
    assert export.file.suffix == f".{file_format}"
    assert keys.column_names == ["one_id", "member_id_hmac"]
    assert keys.to_pylist() == [
        {"one_id": one_id, "member_id_hmac": f"hmac-{one_id}-B1-1"} for one_id in ("c_ok1", "c_ok2", "c_ok3")
    ]


def test_a_hostile_definition_is_rejected_before_the_warehouse_is_read(tmp_path, warehouse):
    settings = audience_settings(tmp_path, warehouse)
    write_audience(settings, "hostile", 'brand_id: "B1\' OR 1=1 --"\npurpose: marketing\naipl_states: [L]\n')

    with pytest.raises(AudienceError, match='brand_id: "B1\' OR 1=1 --" is not an id'):
        export_audience(settings, "hostile")

    assert not settings.audience_exports.exists()


def test_a_missing_warehouse_is_a_clear_error(tmp_path):
    settings = audience_settings(tmp_path, tmp_path / "nowhere.duckdb")
    write_audience(settings, "loyal", LOYAL_MARKETING)

    with pytest.raises(AudienceError, match=r"no warehouse at .*nowhere\.duckdb: build the marts first"):
        size_audience(settings, "loyal")
