"""People an audience sync can reach: the tiny audience warehouse plus their identifiers in the
identity map and the identifier vault, each person with a phone, a device (IDFA or OAID) and a
membership card of brand B1.

HMACs here are plain SHA-256 of the value (the sync never computes one, it only looks them up).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from audience_warehouse import build_warehouse, member, spell

from databank.config import Settings, load_settings
from databank.privacy.vault import Vault

MASTER_KEY = "33" * 32
LOYAL_ADS = "brand_id: B1\npurpose: ad_targeting\naipl_states: [L]\n"
LOYAL_MARKETING = "brand_id: B1\npurpose: marketing\naipl_states: [L]\n"


@dataclass(frozen=True)
class Person:
    one_id: str
    phone: str
    device: str
    device_kind: str  # idfa | oaid
    card: str
    consents: bool = True
    state: str = "L"

    @property
    def identifiers(self) -> tuple[tuple[str, str], ...]:
        return (("phone", self.phone), ("device_id", self.device), ("member_id", self.card))


def hmac_of(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def person(number: int, *, consents: bool = True, state: str = "L", device_kind: str = "idfa") -> Person:
    return Person(
        one_id=f"c{number:02d}",
        phone=f"139{number:08d}",
        device=f"{number:08x}-aaaa-4bbb-8ccc-{number:012x}",
        device_kind=device_kind,
        card=f"VIP{number:06d}",
        consents=consents,
        state=state,
    )


def reach_settings(tmp_path: Path, destinations: dict, min_export_size: int = 1) -> Settings:
    folder = tmp_path / "audiences"
    folder.mkdir(exist_ok=True)
    (folder / "loyal_ads.yaml").write_text(LOYAL_ADS, encoding="utf-8")
    (folder / "loyal_marketing.yaml").write_text(LOYAL_MARKETING, encoding="utf-8")
    return load_settings(
        data_dir=tmp_path / "data",
        warehouse_path=tmp_path / "warehouse.duckdb",
        audiences={"folder": folder, "min_export_size": min_export_size},
        privacy={"vault_key": MASTER_KEY},
        reach={"destinations": destinations},
    )


def publish(settings: Settings, people: list[Person]) -> None:
    """A warehouse holding `people` (consent to both purposes or to none), and their identifiers
    sealed in the vault."""
    settings.warehouse.unlink(missing_ok=True)
    build_warehouse(
        settings.warehouse,
        spells=tuple(spell(p.one_id, p.state) for p in people),
        memberships=tuple(
            member(p.one_id, marketing=p.consents, ad_targeting=p.consents, card=p.card) for p in people
        ),
    )
    with duckdb.connect(str(settings.warehouse)) as con:
        # build_warehouse's member() names the card's HMAC after the one_id and brand
        con.execute(
            "update marts.dim_memberships set member_id_hmac = sha256(split_part(member_id_hmac, '-', 4))"
        )
        con.execute("create schema staging")
        con.execute(
            "create table staging.stg_identity__identity_map (identifier_key varchar, "
            "identifier_type varchar, identifier_hmac varchar, one_id varchar)"
        )
        con.execute("create schema silver")
        con.execute("create table silver.lbs_pings (device_id_hmac varchar, device_id_type varchar)")
        for p in people:
            for kind, value in p.identifiers:
                con.execute(
                    "insert into staging.stg_identity__identity_map values (?, ?, ?, ?)",
                    [f"{kind}:{hmac_of(value)}", kind, hmac_of(value), p.one_id],
                )
            con.execute("insert into silver.lbs_pings values (?, ?)", [hmac_of(p.device), p.device_kind])
    rows = [(kind, hmac_of(value), value) for p in people for kind, value in p.identifiers]
    Vault.open(settings).store(
        pa.table(
            {
                "identifier_type": [r[0] for r in rows],
                "identifier_hmac": [r[1] for r in rows],
                "value": [r[2] for r in rows],
            }
        )
    )
