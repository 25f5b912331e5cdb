"""Scale tiers shared by every benchmark, so their figures speak of the same data."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from pathlib import Path


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
TIERS = {tier.name: tier for tier in (SMALL, MEDIUM)}


def tier_parser(description: str | None) -> argparse.ArgumentParser:
    """The arguments every benchmark takes: which tier, and where its data and figures go."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tier", choices=sorted(TIERS), default=MEDIUM.name)
    parser.add_argument("--out", type=Path, default=Path(".bench"))
    return parser
