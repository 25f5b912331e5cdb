"""Scale tiers shared by every benchmark, so their figures speak of the same data."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from databank.config import Settings, load_settings

BENCHMARK_KEY = "benchmark-key"
BENCHMARK_VAULT_KEY = "b0" * 32  # the identifier vault's master key (32 bytes, hex)


@dataclass(frozen=True)
class Tier:
    name: str
    consumers: int
    days: int
    start: date = date(2026, 5, 1)
    seed: int = 20260501
    bad_rate: float = 0.005


SMALL = Tier("small", consumers=10_000, days=7)
MEDIUM = Tier("medium", consumers=100_000, days=30)
LARGE = Tier("large", consumers=1_000_000, days=7)
TIERS = {tier.name: tier for tier in (SMALL, MEDIUM, LARGE)}


def tier_parser(description: str | None) -> argparse.ArgumentParser:
    """The arguments every benchmark takes: which tier, and where its data and figures go."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tier", choices=sorted(TIERS), default=MEDIUM.name)
    parser.add_argument("--out", type=Path, default=Path(".bench"))
    return parser


def bench_settings(root: Path, landing: Path, **overrides) -> Settings:
    """The settings of a benchmark's data directory over a tier's landing (and `overrides`)."""
    vault = {"vault_key": BENCHMARK_VAULT_KEY}
    return load_settings(
        data_dir=root, landing_dir=landing, hmac_key=BENCHMARK_KEY, privacy=vault, **overrides
    )
