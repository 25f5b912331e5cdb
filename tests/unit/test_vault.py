"""The identifier vault: sealed values revealed by node, never in clear, and shredded down to the files."""

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pytest
from cryptography.exceptions import InvalidTag
from deltalake import DeltaTable

from databank.config import load_settings
from databank.keys import MissingKeyError
from databank.privacy.vault import Vault, WrongMasterKeyError, node, seal, unseal

MASTER_KEY = "11" * 32
OTHER_MASTER_KEY = "22" * 32
PHONE_HMAC = hashlib.sha256(b"phone").hexdigest()
MEMBER_HMAC = hashlib.sha256(b"member").hexdigest()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    for name in [n for n in os.environ if n.startswith("DATABANK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def _vault(tmp_path: Path, master_key: str = MASTER_KEY, **privacy: object) -> Vault:
    return Vault.open(load_settings(data_dir=tmp_path / "data", privacy={"vault_key": master_key, **privacy}))


def _identifiers(*rows: tuple[str, str, str]) -> pa.Table:
    types, hmacs, values = zip(*rows, strict=True)
    return pa.table({"identifier_type": types, "identifier_hmac": hmacs, "value": values})


PHONE = ("phone", PHONE_HMAC, "13912345678")
MEMBER = ("member_id", MEMBER_HMAC, "VIP20260501")
COOKIE = ("cookie_id", hashlib.sha256(b"cookie").hexdigest(), "ck-0001")


def _vault_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "data" / "vault").rglob("*") if p.is_file()]


def _files_holding(tmp_path: Path, needle: bytes) -> list[Path]:
    return [p for p in _vault_files(tmp_path) if needle in p.read_bytes()]


def _column_of(table: Path, held: str, column: str) -> bytes:
    return DeltaTable(table).to_pyarrow_table(filters=[("node", "=", held)])[column][0].as_py()


def test_stored_identifiers_are_revealed_by_node(tmp_path):
    vault = _vault(tmp_path)

    added = vault.store(_identifiers(PHONE, MEMBER))

    assert added == 2
    assert vault.reveal([node("phone", PHONE_HMAC), node("member_id", MEMBER_HMAC), "phone:" + "0" * 64]) == {
        node("phone", PHONE_HMAC): "13912345678",
        node("member_id", MEMBER_HMAC): "VIP20260501",
    }


def test_storing_again_adds_nothing_and_a_repeated_row_is_stored_once(tmp_path):
    vault = _vault(tmp_path)
    vault.store(_identifiers(PHONE, PHONE))

    added_again = vault.store(_identifiers(PHONE))

    assert added_again == 0
    assert vault.nodes() == {node("phone", PHONE_HMAC)}
    assert DeltaTable(tmp_path / "data" / "vault" / "identifiers").to_pyarrow_table().num_rows == 1


def test_identifiers_of_types_not_vaulted_are_not_stored(tmp_path):
    vault = _vault(tmp_path, vault_identifier_types=["phone"])

    added = vault.store(
        _identifiers(PHONE, MEMBER, ("cookie_id", hashlib.sha256(b"cookie").hexdigest(), "ck-0001"))
    )

    assert added == 1
    assert vault.nodes() == {node("phone", PHONE_HMAC)}


def test_identifiers_as_spark_hands_them_over_are_stored(tmp_path):
    vault = _vault(tmp_path)
    large_strings = pa.schema([(name, pa.large_string()) for name in _identifiers(PHONE).column_names])
    from_spark = _identifiers(PHONE).cast(large_strings)  # Spark 4's toArrow gives large types

    added = vault.store(from_spark)

    assert added == 1
    assert vault.reveal([node("phone", PHONE_HMAC)]) == {node("phone", PHONE_HMAC): "13912345678"}


def test_a_sealed_value_opens_only_under_its_own_key_and_node():
    key, other_key = os.urandom(32), os.urandom(32)
    sealed = seal(key, node("phone", PHONE_HMAC), b"13912345678")

    assert unseal(key, node("phone", PHONE_HMAC), sealed) == b"13912345678"
    with pytest.raises(InvalidTag):
        unseal(key, node("phone", MEMBER_HMAC), sealed)
    with pytest.raises(InvalidTag):
        unseal(other_key, node("phone", PHONE_HMAC), sealed)


def test_a_vault_opened_with_another_master_key_reveals_nothing(tmp_path):
    _vault(tmp_path).store(_identifiers(PHONE))

    with pytest.raises(WrongMasterKeyError, match="another"):
        _vault(tmp_path, OTHER_MASTER_KEY).reveal([node("phone", PHONE_HMAC)])


def test_the_value_never_appears_in_clear_in_a_vault_file(tmp_path):
    _vault(tmp_path).store(_identifiers(PHONE, MEMBER))

    assert _vault_files(tmp_path)
    assert _files_holding(tmp_path, b"13912345678") == []
    assert _files_holding(tmp_path, b"VIP20260501") == []


def test_shred_destroys_the_key_and_value_down_to_the_files(tmp_path):
    vault = _vault(tmp_path)
    vault.store(_identifiers(PHONE, MEMBER))
    phone = node("phone", PHONE_HMAC)
    sealed = _column_of(vault.values_table, phone, "sealed_value")
    wrapped = _column_of(vault.keys_table, phone, "wrapped_key")
    # The search below can fail: before the shred, the files do hold these bytes.
    assert _files_holding(tmp_path, PHONE_HMAC.encode())
    assert _files_holding(tmp_path, sealed)
    assert _files_holding(tmp_path, wrapped)

    destroyed = vault.shred([phone])

    assert destroyed == 1
    assert vault.reveal([phone]) == {}
    assert vault.reveal([node("member_id", MEMBER_HMAC)]) == {node("member_id", MEMBER_HMAC): "VIP20260501"}
    assert _files_holding(tmp_path, PHONE_HMAC.encode()) == []
    assert _files_holding(tmp_path, sealed) == []
    assert _files_holding(tmp_path, wrapped) == []


def test_shredding_nodes_not_held_destroys_nothing(tmp_path):
    vault = _vault(tmp_path)
    vault.store(_identifiers(MEMBER))

    assert vault.shred([node("phone", PHONE_HMAC)]) == 0
    assert vault.nodes() == {node("member_id", MEMBER_HMAC)}


def test_a_vault_key_file_every_user_can_read_is_refused(tmp_path):
    key_file = tmp_path / "config" / "databank" / "vault.key"
    key_file.parent.mkdir(parents=True)
    key_file.write_text(MASTER_KEY + "\n")
    key_file.chmod(0o644)

    with pytest.raises(MissingKeyError, match="chmod 600"):
        Vault.open(load_settings(data_dir=tmp_path / "data"))
    key_file.chmod(0o600)
    assert Vault.open(load_settings(data_dir=tmp_path / "data")).nodes() == set()


def test_without_a_master_key_the_vault_does_not_open_and_says_how_to_set_one(tmp_path):
    with pytest.raises(MissingKeyError, match="DATABANK_PRIVACY__VAULT_KEY"):
        Vault.open(load_settings(data_dir=tmp_path / "data"))


def test_a_master_key_that_is_not_32_bytes_of_hex_is_refused(tmp_path):
    with pytest.raises(MissingKeyError, match="64 hex digits"):
        _vault(tmp_path, "not-a-key")


def test_a_vault_inside_the_lakehouse_is_refused(tmp_path):
    with pytest.raises(ValueError, match="inside the lakehouse"):
        _vault(tmp_path, vault_dir=str(tmp_path / "data" / "lakehouse" / "vault"))
