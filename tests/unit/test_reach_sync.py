"""Audience syncs: only consenting consumers reach a destination, in the forms the platforms document,
and a sync sends exactly what changed: adds, removes (an erased person's too), nothing twice."""

import csv
import hashlib
import json
import os
from pathlib import Path

import pytest
from reach_world import hmac_of, person, publish, reach_settings

from databank.audiences import AudienceError
from databank.privacy.erasure import ErasureRequest, apply_erasure
from databank.privacy.vault import Vault
from databank.reach.forms import render
from databank.reach.sync import pending_removals, read_state, state_folder, sync_audience

TENCENT = {"kind": "platform_files", "platform": "tencent_ads", "purpose": "ad_targeting", "batch_size": 2}
TENCENT_ALL_FORMS = {
    **TENCENT,
    "forms": ["phone_md5", "phone_sha256", "idfa", "idfa_md5", "oaid", "oaid_md5"],
}
CRM = {"kind": "crm_drop", "purpose": "marketing"}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    for name in [n for n in os.environ if n.startswith("DATABANK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def _lines(folder: Path, pattern: str) -> set[str]:
    return {line for path in folder.glob(pattern) for line in path.read_text(encoding="utf-8").splitlines()}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_platform_forms_match_the_examples_the_platforms_document():
    # Tencent Ads' customer-file documentation: HASH_IDFA of this IDFA, and its OAID example's MD5.
    assert render("idfa_md5", "ff1999cd-7177-4937-a474-74937a102630") == "2c010ed96aef2fc34983e1e7e9176b7e"
    assert render("oaid_md5", "1fe9a970-efbb-29e0-0bdd-f5dbbf751ab5") == "83e9158a4fb54c0e1ef0b238639a23ae"
    assert render("idfa", "ff1999cd-7177-4937-a474-74937a102630") == "FF1999CD-7177-4937-A474-74937A102630"


def test_platform_files_hold_the_consenting_consumers_hashed_as_documented(tmp_path):
    settings = reach_settings(tmp_path, {"tencent": TENCENT_ALL_FORMS})
    consenting = [person(1), person(2, device_kind="oaid"), person(3)]
    refusing = person(4, consents=False)
    publish(settings, [*consenting, refusing, person(5, state="I")])

    report = sync_audience(settings, "loyal_ads", "tencent")

    folder = settings.data_dir / "reach" / "files" / "tencent" / "loyal_ads" / report.run_date.isoformat()
    assert _lines(folder, "APPEND/HASH_MOBILE_PHONE-part*.txt") == {_md5(p.phone) for p in consenting}
    assert _lines(folder, "APPEND/SHA256_MOBILE_PHONE-part*.txt") == {
        hashlib.sha256(p.phone.encode()).hexdigest() for p in consenting
    }
    idfas = [p.device for p in consenting if p.device_kind == "idfa"]
    assert _lines(folder, "APPEND/IDFA-part*.txt") == {d.upper() for d in idfas}
    assert _lines(folder, "APPEND/HASH_IDFA-part*.txt") == {_md5(d.upper()) for d in idfas}
    assert _lines(folder, "APPEND/OAID-part*.txt") == {person(2).device}
    assert _lines(folder, "APPEND/HASH_OAID-part*.txt") == {_md5(person(2).device)}
    # batch_size 2: three phones make two parts
    assert len(list(folder.glob("APPEND/HASH_MOBILE_PHONE-part*.txt"))) == 2
    assert report.consumers == 3
    assert report.added["phone_md5"] == 3
    assert not report.removed
    written = b"".join(p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file())
    for value in (refusing.phone, _md5(refusing.phone), refusing.device.upper(), _md5(person(5).phone)):
        assert value.encode() not in written


def test_crm_drop_sends_member_ids_of_consenting_members_only(tmp_path):
    settings = reach_settings(tmp_path, {"crm": CRM})
    publish(settings, [person(1), person(2), person(3, consents=False)])

    report = sync_audience(settings, "loyal_marketing", "crm")

    files = list((settings.data_dir / "reach" / "files" / "crm").rglob("add-member_id-part*.csv"))
    sent = {row["member_id"] for path in files for row in csv.DictReader(path.open(encoding="utf-8"))}
    assert sent == {person(1).card, person(2).card}
    assert report.added == {"member_id": 2}


def test_a_destination_of_another_purpose_is_refused(tmp_path):
    settings = reach_settings(tmp_path, {"crm": CRM})
    publish(settings, [person(1)])
    with pytest.raises(AudienceError, match="is for ad_targeting, destination 'crm' for marketing"):
        sync_audience(settings, "loyal_ads", "crm")
    assert not (settings.data_dir / "reach" / "files").exists()


def test_a_small_audience_is_not_sent(tmp_path):
    settings = reach_settings(tmp_path, {"tencent": TENCENT}, min_export_size=3)
    publish(settings, [person(1), person(2), person(3, consents=False)])
    with pytest.raises(AudienceError, match=r"2 consenting consumers .* nothing was sent"):
        sync_audience(settings, "loyal_ads", "tencent")
    assert not (settings.data_dir / "reach" / "files").exists()


def test_a_second_sync_sends_exactly_the_consumers_who_left_as_removes(tmp_path):
    settings = reach_settings(tmp_path, {"tencent": TENCENT})
    stay, leaves, withdraws = person(1), person(2), person(3)
    publish(settings, [stay, leaves, withdraws, person(4)])
    first = sync_audience(settings, "loyal_ads", "tencent")

    publish(settings, [stay, person(2, state="P"), person(3, consents=False), person(4), person(6)])
    second = sync_audience(settings, "loyal_ads", "tencent")

    folder = settings.data_dir / "reach" / "files" / "tencent" / "loyal_ads" / second.run_date.isoformat()
    assert _lines(folder, "REDUCE/HASH_MOBILE_PHONE-part*.txt") == {_md5(leaves.phone), _md5(withdraws.phone)}
    assert first.added["phone_md5"] == 4
    assert second.added == {"phone_md5": 1, "idfa_md5": 1}
    assert second.removed == {"phone_md5": 2, "idfa_md5": 2}
    held = set(read_state(state_folder(settings, "loyal_ads", "tencent"))["one_id"].to_pylist())
    assert held == {"c01", "c04", "c06"}


def test_a_sync_run_again_for_the_same_night_sends_nothing(tmp_path):
    settings = reach_settings(tmp_path, {"tencent": TENCENT})
    publish(settings, [person(1), person(2)])
    sync_audience(settings, "loyal_ads", "tencent")
    again = sync_audience(settings, "loyal_ads", "tencent")
    assert not again.changed
    assert again.batches_sent == 0
    log = [json.loads(line) for line in (settings.data_dir / "reach" / "syncs.log.jsonl").open()]
    assert [entry["added"] for entry in log] == [{"idfa_md5": 2, "phone_md5": 2}, {}]
    assert len(log[0]["delivered_to"]) == 2  # a phone file and a device file
    assert log[1]["delivered_to"] == []


def test_an_identifier_the_vault_cannot_reveal_is_not_sent_and_tried_again_by_the_next_sync(tmp_path):
    settings = reach_settings(tmp_path, {"tencent": TENCENT})
    late = person(2)
    publish(settings, [person(1), late])
    Vault.open(settings).shred({f"phone:{hmac_of(late.phone)}"})

    first = sync_audience(settings, "loyal_ads", "tencent")
    publish(settings, [person(1), late])  # the vault holds the phone again
    second = sync_audience(settings, "loyal_ads", "tencent")

    assert first.not_in_vault == 1
    assert first.added == {"phone_md5": 1, "idfa_md5": 2}
    assert second.added == {"phone_md5": 1}


def test_an_erased_person_is_removed_by_the_next_sync_and_then_gone_from_every_vault(tmp_path):
    settings = reach_settings(tmp_path, {"tencent": TENCENT, "crm": CRM})
    erased, kept = person(1), person(2)
    publish(settings, [erased, kept])
    sync_audience(settings, "loyal_ads", "tencent")
    sync_audience(settings, "loyal_marketing", "crm")
    nodes = tuple(f"{kind}:{hmac_of(value)}" for kind, value in erased.identifiers)

    apply_erasure(settings, [ErasureRequest("r1", "command", None, nodes=nodes, one_ids=(erased.one_id,))])
    assert not set(nodes) & Vault.open(settings).nodes()  # shredded from the vault ...
    assert set(nodes) <= pending_removals(settings).nodes()  # ... held sealed until the removes go

    ads = sync_audience(settings, "loyal_ads", "tencent")
    # the CRM still holds the member id
    assert pending_removals(settings).nodes() == {f"member_id:{hmac_of(erased.card)}"}
    crm = sync_audience(settings, "loyal_marketing", "crm")

    folder = settings.data_dir / "reach" / "files" / "tencent" / "loyal_ads" / ads.run_date.isoformat()
    assert _lines(folder, "REDUCE/HASH_MOBILE_PHONE-part*.txt") == {_md5(erased.phone)}
    assert ads.removed == {"phone_md5": 1, "idfa_md5": 1}
    assert not ads.added
    assert crm.removed == {"member_id": 1}
    assert pending_removals(settings).nodes() == set()
    for destination, audience in (("tencent", "loyal_ads"), ("crm", "loyal_marketing")):
        held = read_state(state_folder(settings, audience, destination))["one_id"].to_pylist()
        assert erased.one_id not in held


def test_the_sync_command_prints_counts_and_a_rerun_sends_nothing(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from databank.cli import app

    settings = reach_settings(tmp_path, {"tencent": TENCENT})
    publish(settings, [person(1), person(2)])
    monkeypatch.setenv("DATABANK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATABANK_WAREHOUSE_PATH", str(settings.warehouse))
    monkeypatch.setenv("DATABANK_AUDIENCES__FOLDER", str(settings.audiences.folder))
    monkeypatch.setenv("DATABANK_AUDIENCES__MIN_EXPORT_SIZE", "1")
    monkeypatch.setenv("DATABANK_PRIVACY__VAULT_KEY", "33" * 32)
    monkeypatch.setenv("DATABANK_REACH__DESTINATIONS", json.dumps({"tencent": TENCENT}))

    first = CliRunner().invoke(app, ["audience", "sync", "loyal_ads", "--destination", "tencent", "--json"])
    second = CliRunner().invoke(app, ["audience", "sync", "loyal_ads", "-d", "tencent"])

    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["added"] == {"phone_md5": 2, "idfa_md5": 2}
    assert second.exit_code == 0
    assert "nothing changed since the last sync" in " ".join(second.output.split())
    unknown = CliRunner().invoke(app, ["audience", "sync", "loyal_ads", "-d", "nowhere"])
    assert unknown.exit_code == 1
    assert "no destination 'nowhere'" in unknown.output
