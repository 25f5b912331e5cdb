"""The `[privacy]` settings: the identifier vault's keys and folders, and erasure's vacuum."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator

from databank.contracts import IdentifierType


class PrivacySettings(BaseModel):
    """The identifier vault (`databank.privacy.vault`): raw identifiers sealed for activation and erasure."""

    vault_key: SecretStr | None = Field(
        None,
        description="Master key of the vault, 32 random bytes in hex; else read from vault_key_file.",
    )
    vault_key_file: Path | None = Field(
        None,
        description="File holding the master key, readable by its owner (and group) only; default "
        "$XDG_CONFIG_HOME/databank/vault.key (~/.config/databank/vault.key), outside the data folder.",
    )
    vault_dir: Path | None = Field(
        None,
        description="The vault's sealed identifiers (<vault_dir>/identifiers); default <data_dir>/vault, "
        "outside the lakehouse so neither the warehouse nor gold ever holds them.",
    )
    vault_keys_dir: Path | None = Field(
        None,
        description="The vault's wrapped data keys; default <vault_dir>/keys. Put it on other storage than "
        "the data, out of its backups: erasure destroys the keys, and a restored value without its key "
        "stays unreadable.",
    )
    vault_identifier_types: tuple[IdentifierType, ...] = Field(
        ("phone", "member_id", "device_id"),
        description="Identifier types worth reaching a person by; those of other types are never vaulted.",
    )
    erasure_vacuum: bool = Field(
        True,
        description="Erasure vacuums every table it touched (lakehouse and vault) with zero retention, so "
        "the files that held an erased person are gone, not merely unlisted. Off, they stay on disk "
        "until a vacuum runs.",
    )

    @field_validator("vault_key_file", "vault_dir", "vault_keys_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return absolute_at_load(value)


def absolute_at_load(value: Path | None) -> Path | None:
    # Relative paths mean the working directory at load time; subprocesses (dbt resolves paths
    # against its project folder) and Airflow tasks must not read them against another one.
    return value if value is None else value.expanduser().absolute()
