"""Scale tiers shared by every benchmark, so their figures speak of the same data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


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
