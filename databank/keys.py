"""The keys databank keeps apart from its data: the HMAC key that pseudonymises identifiers and the
master key of the identifier vault (`databank.privacy.vault`).

Each comes from its setting (`hmac_key`, `privacy.vault_key`; `DATABANK_HMAC_KEY`,
`DATABANK_PRIVACY__VAULT_KEY`), else from a key file, by default in `$XDG_CONFIG_HOME/databank/`
(`~/.config/databank/`): outside the data folder, so a copy or backup of the data never carries the
key that opens it. A key file other users of the machine can read is refused.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from databank.config import Settings

KEY_BYTES = 32  # HMAC-SHA256 and AES-256 alike: 32 random bytes


class MissingKeyError(RuntimeError):
    """A key databank needs is not configured, or not safe to use."""


def default_key_file(name: str) -> Path:
    """The file `name` in databank's folder of the user's configuration."""
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "databank" / name


def read_key_file(path: Path, what: str, variable: str) -> str:
    """The key in `path`; MissingKeyError naming `variable` when there is none or others can read it."""
    if not path.is_file():
        raise MissingKeyError(
            f"No {what}: set {variable} or write one to {path} "
            "(`databank demo` creates a local one for the demo)."
        )
    if path.stat().st_mode & 0o007:
        raise MissingKeyError(
            f"The {what} {path} is readable by every user of this machine: "
            f"restrict it (chmod 600 {path}) before databank uses it."
        )
    return path.read_text().strip()


def vault_master_key(settings: Settings) -> bytes:
    """The vault's master key, 32 bytes: from DATABANK_PRIVACY__VAULT_KEY, else from its key file."""
    configured = settings.privacy.vault_key
    text = (
        configured.get_secret_value()
        if configured is not None
        else read_key_file(settings.vault_key_file, "vault master key", "DATABANK_PRIVACY__VAULT_KEY")
    )
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise MissingKeyError(
            f"The vault master key must be {KEY_BYTES} random bytes written as "
            f"{2 * KEY_BYTES} hex digits, e.g. from `python -c 'import secrets; "
            f"print(secrets.token_hex({KEY_BYTES}))'`."
        )
    return key


def ensure_demo_key(settings: Settings) -> Path | None:
    """Create random local keys for the demo where none is configured, the pseudonymisation key and
    the vault master key; return the pseudonymisation key file when it was created."""
    if settings.privacy.vault_key is None and not settings.vault_key_file.is_file():
        _create_key_file(settings.vault_key_file)
    if settings.hmac_key is not None or settings.key_file.is_file():
        return None
    _create_key_file(settings.key_file)
    return settings.key_file


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Created owner-only from the first byte: never readable by others, not even for a moment.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as key:
        key.write(secrets.token_hex(KEY_BYTES) + "\n")
