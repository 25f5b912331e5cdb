"""A person's erasure end to end, as a brand lives it: nights run with `databank run`, the person's
request arrives with night 2's erasure feed, and night 3 brings their old records again.

Night 1 also has a phone typed into a search box, GBK files (the legacy POS exports) and the staged
copy a killed ingest left behind: after it no raw identifier is anywhere under the data folder but in
what the nightly audience syncs sent (the person's brand's consenting members, to an ad platform's
upload files and to the CRM drop). Night 2's syncs send the removes of the erased person.

After night 2 none of their identifiers' HMACs and none of their one_ids is in any file under the
data folder (Delta files and logs, quality results, reports, Airflow's logs and metadata) nor in any
table of the warehouse; the vault cannot reveal them; the audit says what was done without naming
them. Night 3 re-delivers their old member record, slightly changed: it is suppressed, and they stay
gone. The tests build on each other in file order, on one data directory.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from databank.config import load_settings
from databank.generator.generate import GenerateArgs, generate
from databank.privacy.erasure import read_audit
from databank.privacy.purge import active_dataset
from databank.privacy.vault import Vault

DAYS = (date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 3))
KEY = "erasure-end-to-end-key"
PLANTED_PHONE = "13912345678"
SYNCED = {"members_ads": "tencent", "members_marketing": "crm"}
DESTINATIONS = {
    "tencent": {"kind": "platform_files", "platform": "tencent_ads", "purpose": "ad_targeting"},
    "crm": {"kind": "crm_drop", "purpose": "marketing"},
}


def _databank(data_dir: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABANK_", "AIRFLOW"))}
    reach = {
        "DATABANK_AUDIENCES__FOLDER": str(data_dir / "audiences"),
        "DATABANK_AUDIENCES__MIN_EXPORT_SIZE": "1",
        "DATABANK_REACH__DESTINATIONS": json.dumps(DESTINATIONS),
        "DATABANK_REACH__SYNCS": json.dumps([{"audience": a, "destination": d} for a, d in SYNCED.items()]),
    }
    result = subprocess.run(
        [sys.executable, "-m", "databank.cli", *arguments],
        env={
            **environment,
            **reach,
            "DATABANK_DATA_DIR": str(data_dir),
            "DATABANK_HMAC_KEY": KEY,
            "COLUMNS": "200",
        },
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _member_rows(settings, day: date) -> tuple[list[str], list[list[str]]]:
    path = next((settings.landing / "members" / f"dt={day}").glob("*.csv"))
    with path.open(encoding="utf-8", newline="") as lines:
        rows = list(csv.reader(lines))
    return rows[0], rows[1:]


def _phone(member: dict) -> str:
    return re.sub(r"^(0086|86)(?=1[0-9]{10}$)", "", re.sub(r"[^0-9]", "", member["phone"]))


def _member_id(member: dict) -> str:
    return "".join(member["member_id"].split()).upper()


def _node(identifier_type: str, normalised: str) -> str:
    """The OneID node of an identifier, computed here independently of the pipeline."""
    digest = hmac.new(KEY.encode(), normalised.encode(), hashlib.sha256).hexdigest()
    return f"{identifier_type}:{digest}"


@pytest.fixture(scope="module")
def person(module_tmp):
    """Night 1 run, its audiences synced; an active member consenting to both purposes chosen; their
    identifiers, one_ids and vault entry as night 1 left them."""
    data_dir = module_tmp("erasure-e2e")
    settings = load_settings(data_dir=data_dir, hmac_key=KEY)
    generate(GenerateArgs(out=settings.landing, consumers=250, days=3, start=DAYS[0], seed=21, bad_rate=0.02))
    _plant_identifiers(settings)
    header, rows = _member_rows(settings, DAYS[0])
    member = next(
        record
        for record in (dict(zip(header, row, strict=True)) for row in rows)
        if record["status"] == "active"
        and record["consent_marketing"].lower() == record["consent_ad_targeting"].lower() == "true"
    )
    _define_audiences(data_dir / "audiences", member["brand_id"])
    _databank(data_dir, "run", "--date", DAYS[0].isoformat())

    named = {_node("phone", _phone(member)), _node("member_id", _member_id(member))}
    snapshot = pl.from_arrow(active_dataset(settings.lakehouse / "silver" / "identity_map").to_table())
    one_ids = set(snapshot.filter(pl.col("node").is_in(named))["one_id"])
    nodes = set(snapshot.filter(pl.col("one_id").is_in(one_ids))["node"]) | named
    assert one_ids, "the chosen member has no one_id after night 1"
    assert Vault.open(settings).reveal(named), "night 1 sealed nothing of the member in the vault"
    return settings, member, nodes, one_ids


@pytest.fixture(scope="module")
def erased(person):
    """Night 2 with the member's erasure request (by phone) in the erasure feed."""
    settings, member, _, _ = person
    folder = settings.landing / "erasure_requests" / f"dt={DAYS[1]}"
    folder.mkdir(parents=True)
    (folder / f"erasure_requests_{DAYS[1]:%Y%m%d}.csv").write_text(
        "request_id,requested_at,identifier_type,identifier_value\n"
        f"ER-0001,{DAYS[1]} 09:30:00,phone,{member['phone']}\n",
        encoding="utf-8",
    )
    return _databank(settings.data_dir, "run", "--date", DAYS[1].isoformat())


def _define_audiences(folder: Path, brand_id: str) -> None:
    """The brand's consumers in any funnel state, one audience per purpose."""
    folder.mkdir()
    for name, destination in SYNCED.items():
        purpose = DESTINATIONS[destination]["purpose"]
        (folder / f"{name}.yaml").write_text(
            f"brand_id: {brand_id}\npurpose: {purpose}\naipl_states: [O, A, I, P, L]\n", encoding="utf-8"
        )


def _sent(settings, day: date, pattern: str) -> set[str]:
    """Lines of the files the night's syncs wrote for a destination."""
    files = settings.data_dir / "reach" / "files"
    return {
        line
        for path in files.glob(f"*/*/{day}/{pattern}")
        for line in path.read_text(encoding="utf-8").splitlines()
    }


def _plant_identifiers(settings) -> None:
    """A phone typed into a search box, and a killed ingest's staged copy holding a raw phone."""
    events = next((settings.landing / "online_events" / f"dt={DAYS[0]}").glob("*.jsonl"))
    typed = {
        "event_id": "EV-typed",
        "session_id": "S-typed",
        "platform": "tmall",
        "event_type": "search",
        "event_at": f"{DAYS[0]}T10:00:00+08:00",
        "search_keyword": f"口红 请回电 {PLANTED_PHONE[:3]} {PLANTED_PHONE[3:7]} {PLANTED_PHONE[7:]}",
        "account_id": "typed-account",
    }
    with events.open("a", encoding="utf-8") as lines:
        lines.write(json.dumps(typed, ensure_ascii=False) + "\n")
    killed = settings.lakehouse / "_staging" / "pos_transactions" / "pos_transactions-killed-batch"
    killed.mkdir(parents=True)
    (killed / "receipts_legacy.csv").write_text(f"receipt_id,phone\nR-killed,{PLANTED_PHONE}\n")


def test_night_1_stores_no_raw_identifier_anywhere_under_the_data_folder(person):
    settings, *_ = person
    truth = pl.read_parquet(settings.landing / "_truth" / "identifiers.parquet")
    secrets = {str(v).lower() for v in truth["value"] if v and len(str(v)) >= 6} | {PLANTED_PHONE}

    payloads = settings.data_dir / "reach" / "files"  # what the destinations take, by design
    leaked = set()
    for path in settings.data_dir.rglob("*"):
        if path.is_file() and settings.landing not in path.parents and payloads not in path.parents:
            leaked |= _identifier_tokens(_text_of(path)) & secrets

    assert not leaked, f"raw identifiers stored: {sorted(leaked)[:5]}"


def test_night_1_synced_the_consenting_member_to_both_destinations(person):
    settings, member, _, _ = person

    assert hashlib.md5(_phone(member).encode()).hexdigest() in _sent(
        settings, DAYS[0], "APPEND/HASH_MOBILE_PHONE-part*.txt"
    )
    assert _member_id(member) in _sent(settings, DAYS[0], "add-member_id-part*.csv")


def _text_of(path: Path) -> str:
    if path.suffix == ".parquet":
        return _parquet_text(path)
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            return _warehouse_text(con)
    return path.read_bytes().decode("utf-8", errors="replace")


def _identifier_tokens(text: str) -> set[str]:
    """Identifier-like runs of `text`, phones also with their spaces and dashes squeezed out."""
    lowered = text.lower()
    tokens = set(re.findall(r"[0-9a-z_]{6,}", lowered)) | set(re.findall(r"[0-9a-z_\-]{6,}", lowered))
    squeezed = re.sub(r"[\s\-+]", "", lowered)
    return tokens | set(re.findall(r"(?=(1[3-9][0-9]{9}))", squeezed))


def test_after_the_night_of_the_request_no_file_and_no_table_holds_the_person(person, erased):
    settings, _, nodes, one_ids = person
    hmacs = {node.split(":", 1)[1] for node in nodes}

    found = _held_anywhere(settings, hmacs | one_ids)

    assert not found, f"still held: {sorted(found)[:10]}"


def test_the_night_of_the_request_sent_their_removes_to_every_destination(person, erased):
    settings, member, _, _ = person

    assert hashlib.md5(_phone(member).encode()).hexdigest() in _sent(
        settings, DAYS[1], "REDUCE/HASH_MOBILE_PHONE-part*.txt"
    )
    assert _member_id(member) in _sent(settings, DAYS[1], "remove-member_id-part*.csv")


def test_the_vault_cannot_reveal_them_and_the_audit_names_no_identifier(person, erased):
    settings, _, nodes, one_ids = person

    audit = read_audit(settings).to_pylist()

    assert Vault.open(settings).reveal(nodes) == {}
    assert [(row["request_id"], row["status"]) for row in audit] == [("ER-0001", "applied")]
    assert audit[0]["consumers_erased"] >= len(one_ids)
    assert audit[0]["rows_removed"] > 0
    assert not any(h in str(audit) for h in {n.split(":", 1)[1] for n in nodes} | one_ids)


@pytest.mark.slow
def test_their_old_record_delivered_again_changed_is_suppressed_and_they_stay_gone(person, erased):
    settings, member, nodes, one_ids = person
    header, _ = _member_rows(settings, DAYS[0])
    resent = {**member, "member_record_id": member["member_record_id"] + "-resent"}
    folder = settings.landing / "members" / f"dt={DAYS[2]}"
    with (folder / "members_resent.csv").open("w", encoding="utf-8", newline="") as lines:
        writer = csv.DictWriter(lines, header, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerow(resent)

    _databank(settings.data_dir, "run", "--date", DAYS[2].isoformat())

    runs = pl.from_arrow(active_dataset(settings.lakehouse / "ops" / "ingest_runs").to_table())
    night_3 = runs.filter((pl.col("feed") == "members") & (pl.col("dt") == DAYS[2]))
    assert night_3["rows_suppressed"].sum() >= 1
    assert (
        runs["rows_delivered"] == runs["rows_bronze"] + runs["rows_quarantined"] + runs["rows_suppressed"]
    ).all()
    hmacs = {node.split(":", 1)[1] for node in nodes}
    assert not _held_anywhere(settings, hmacs | one_ids)


def _held_anywhere(settings, values: set[str]) -> set[str]:
    """Which of `values` a file under the data folder (the brand's own deliveries aside) or a table
    of the warehouse holds."""
    found: set[str] = set()
    encoded = {value: value.encode() for value in values}
    for path in settings.data_dir.rglob("*"):
        if not path.is_file() or settings.landing in path.parents or path.suffix == ".duckdb":
            continue
        content = path.read_bytes()
        found |= {value for value, raw in encoded.items() if raw in content}
        if path.suffix == ".parquet":  # compressed pages: read the values
            found |= {value for value in values if value in _parquet_text(path)}
    for warehouse in settings.warehouse.parent.glob("*.duckdb"):
        with duckdb.connect(str(warehouse), read_only=True) as con:
            text = _warehouse_text(con)
        found |= {value for value in values if value in text}
    return found


def _parquet_text(path: Path) -> str:
    table = pq.read_table(path)
    return "\n".join(
        str(value)
        for column in table.columns
        if str(column.type) in ("string", "large_string")
        for value in column.to_pylist()
    )


def _warehouse_text(con: duckdb.DuckDBPyConnection) -> str:
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
    ).fetchall()
    cells = []
    for schema, name in tables:
        rows = con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
        cells.extend(str(value) for row in rows for value in row)
    return "\n".join(cells)
