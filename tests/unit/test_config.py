"""The typed configuration: defaults, TOML file, environment, and the paths derived from them."""

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from databank.config import load_settings
from databank.keys import MissingKeyError, ensure_demo_key, vault_master_key


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    for name in [n for n in os.environ if n.startswith("DATABANK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no key of this machine's user
    monkeypatch.chdir(tmp_path)


def test_defaults_put_everything_under_data_in_the_working_directory(tmp_path):
    settings = load_settings()

    assert settings.landing == tmp_path / "data/landing"
    assert settings.lakehouse == tmp_path / "data/lakehouse"
    assert settings.warehouse == tmp_path / "data/warehouse/databank.duckdb"
    assert settings.reports == tmp_path / "data/reports"
    assert settings.vault_identifiers == tmp_path / "data/vault/identifiers"
    assert settings.vault_keys == tmp_path / "data/vault/keys"
    assert settings.business_timezone == "Asia/Shanghai"
    assert settings.profile == "embedded"


def test_data_dir_from_environment_moves_every_path(monkeypatch):
    monkeypatch.setenv("DATABANK_DATA_DIR", "/srv/bank")

    settings = load_settings()

    assert settings.landing == Path("/srv/bank/landing")
    assert settings.warehouse == Path("/srv/bank/warehouse/databank.duckdb")


def test_toml_file_is_read_and_environment_wins_over_it(monkeypatch, tmp_path):
    config = tmp_path / "bank.toml"
    config.write_text('data_dir = "/from/file"\n[demo]\nconsumers = 42\ndays = 3\n')
    monkeypatch.setenv("DATABANK_CONFIG", str(config))
    monkeypatch.setenv("DATABANK_DEMO__DAYS", "9")

    settings = load_settings()

    assert settings.data_dir == Path("/from/file")
    assert settings.demo.consumers == 42
    assert settings.demo.days == 9


def test_databank_toml_in_working_directory_is_found(tmp_path):
    (tmp_path / "databank.toml").write_text('business_timezone = "Asia/Tokyo"\n')

    assert load_settings().business_timezone == "Asia/Tokyo"


def test_relative_paths_are_fixed_against_the_working_directory_at_load(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABANK_DATA_DIR", "bank")
    monkeypatch.setenv("DATABANK_HMAC_KEY_FILE", "../keys/hmac.key")

    settings = load_settings()
    monkeypatch.chdir("/")

    assert settings.reports == tmp_path / "bank" / "reports"
    assert settings.key_file.resolve() == tmp_path.parent / "keys" / "hmac.key"


def test_the_vault_key_table_may_live_apart_from_the_vault(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABANK_PRIVACY__VAULT_DIR", "/srv/vault")
    monkeypatch.setenv("DATABANK_PRIVACY__VAULT_KEYS_DIR", "keys")

    settings = load_settings()

    assert settings.vault_identifiers == Path("/srv/vault/identifiers")
    assert settings.vault_keys == tmp_path / "keys"


def test_explicit_paths_override_the_data_dir(monkeypatch):
    monkeypatch.setenv("DATABANK_WAREHOUSE_PATH", "/bi/bank.duckdb")

    assert load_settings().warehouse == Path("/bi/bank.duckdb")


def test_missing_config_file_named_by_environment_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABANK_CONFIG", str(tmp_path / "absent.toml"))

    with pytest.raises(FileNotFoundError, match=r"absent\.toml"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABANK_BUSINESS_TIMEZONE", "Mars/Olympus"),
        ("DATABANK_CURRENCY", "RMB"),  # the yuan's everyday name, not its ISO 4217 code
        ("DATABANK_CURRENCY", "usd"),
        ("DATABANK_PROFILE", "laptop"),
        ("DATABANK_DEMO__CONSUMERS", "0"),
        ("DATABANK_DEMO__DAYS", "1"),  # the demo loads a history and runs a night after it
        ("DATABANK_PRIVACY__VAULT_IDENTIFIER_TYPES", '["email"]'),
    ],
)
def test_invalid_values_are_rejected(monkeypatch, name, value):
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError):
        load_settings()


def test_unknown_setting_in_file_is_rejected(tmp_path):
    (tmp_path / "databank.toml").write_text('data_dri = "typo"\n')

    with pytest.raises(ValidationError, match="data_dri"):
        load_settings()


def test_pseudonymisation_key_comes_from_environment_before_the_key_file(monkeypatch, tmp_path):
    (tmp_path / "config" / "databank").mkdir(parents=True)
    (tmp_path / "config" / "databank" / "hmac.key").write_text("from-file\n")
    (tmp_path / "config" / "databank" / "hmac.key").chmod(0o600)

    assert load_settings().pseudonymisation_key() == b"from-file"
    monkeypatch.setenv("DATABANK_HMAC_KEY", "from-env")
    assert load_settings().pseudonymisation_key() == b"from-env"


def test_the_default_key_file_lies_outside_the_data_folder(tmp_path):
    settings = load_settings()

    assert settings.key_file == tmp_path / "config" / "databank" / "hmac.key"
    assert not settings.key_file.is_relative_to(settings.data_dir)
    assert settings.vault_key_file == tmp_path / "config" / "databank" / "vault.key"


def test_a_key_file_every_user_can_read_is_refused(monkeypatch, tmp_path):
    key = tmp_path / "hmac.key"
    key.write_text("secret\n")
    key.chmod(0o644)
    monkeypatch.setenv("DATABANK_HMAC_KEY_FILE", str(key))

    with pytest.raises(MissingKeyError, match="chmod 600"):
        load_settings().pseudonymisation_key()
    key.chmod(0o640)
    assert load_settings().pseudonymisation_key() == b"secret"


def test_the_demo_keys_are_created_owner_only_in_an_owner_only_folder():
    settings = load_settings()

    created = ensure_demo_key(settings)

    assert created == settings.key_file
    assert created.stat().st_mode & 0o777 == 0o600
    assert created.parent.stat().st_mode & 0o777 == 0o700
    assert len(settings.pseudonymisation_key()) == 64
    assert settings.vault_key_file.stat().st_mode & 0o777 == 0o600
    assert len(vault_master_key(settings)) == 32
    assert ensure_demo_key(settings) is None


def test_the_demo_vault_key_is_created_beside_a_configured_pseudonymisation_key(monkeypatch):
    monkeypatch.setenv("DATABANK_HMAC_KEY", "from-env")
    settings = load_settings()

    created = ensure_demo_key(settings)

    assert created is None
    assert not settings.key_file.exists()
    assert len(vault_master_key(settings)) == 32


def test_without_any_key_pseudonymisation_refuses_and_says_how_to_set_one():
    with pytest.raises(MissingKeyError, match="DATABANK_HMAC_KEY"):
        load_settings().pseudonymisation_key()
