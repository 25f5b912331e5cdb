"""A brand's data folder as the commands that refuse a run before any work see it: keys in the
environment and nothing else of this machine's, and feeds landed as empty deliveries."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pytest

REQUIRED = ("online_orders", "online_events", "pos_transactions", "media_exposures", "lbs_pings", "members")
REFERENCE = ("brands", "stores", "products", "campaigns", "keywords")  # all a generated brand delivers


def keyed_data_dir(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    """`data_dir` as the data folder, with both keys set; no other DATABANK_ setting of this machine."""
    for name in [n for n in os.environ if n.startswith("DATABANK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABANK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DATABANK_HMAC_KEY", "test-key")
    monkeypatch.setenv("DATABANK_PRIVACY__VAULT_KEY", "44" * 32)
    monkeypatch.setenv("COLUMNS", "250")


def land(landing: Path, feeds: Iterable[str], day: date) -> None:
    """A delivery of each feed for the day (an empty file is a delivery, of nothing)."""
    for feed in feeds:
        folder = landing / feed / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{feed}.csv").write_text("")
