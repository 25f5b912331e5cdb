"""Erasure cost at a tier: 100 people's requests applied at once to the tier's whole lakehouse (every
day of bronze, silver, quarantine, OneID snapshots, gold) and its published warehouse, the way the
nightly `apply_erasure_requests` task applies a night's requests.

The lakehouse is the history the night benchmark (`benchmarks.tier_night`) loads, every day but the
tier's last, with its marts built (kept under <out>/night-<tier>-<seed>/; loaded now if that
benchmark has not run), copied so the kept history stays whole. The 100 people are CRM members of
the tier's first day, named by phone.
Target: under 2 minutes at the medium tier, and below the time of a full rebuild of the marts (the
history load's own full build, where it recorded it).
"""

from __future__ import annotations

import csv
import json
import resource
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.ingest import landing_for
from benchmarks.tier_night import history_step_seconds, loaded_history
from benchmarks.tiers import TIERS, bench_settings, tier_parser
from databank.privacy.erasure import ErasureRequest, apply_erasure, command_node

REQUESTS = 100
TARGET_SECONDS = 120


def member_phones(landing: Path, day, count: int) -> list[str]:
    """Phones of the first `count` members the CRM delivered on `day`."""
    phones = []
    for path in sorted((landing / "members" / f"dt={day}").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as lines:
            phones += [row["phone"] for row in csv.DictReader(lines) if row["phone"]]
    return list(dict.fromkeys(phones))[:count]


def main(argv: list[str] | None = None) -> int:
    args = tier_parser(__doc__).parse_args(argv)
    tier = TIERS[args.tier]
    args.out.mkdir(parents=True, exist_ok=True)
    landing = landing_for(tier, args.out)
    before_last = tier.start + timedelta(days=tier.days - 2)
    prepared = loaded_history(tier, landing, args.out, before_last)
    full_build = history_step_seconds(prepared, "marts")
    work = args.out / f"erasure-{tier.name}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(prepared, work)
    settings = bench_settings(work, landing)
    key = settings.pseudonymisation_key()
    requests = [
        ErasureRequest(f"bench-{n:03d}", "command", None, (command_node("phone", phone, key),))
        for n, phone in enumerate(member_phones(landing, tier.start, REQUESTS))
    ]
    size_gb = sum(p.stat().st_size for p in work.rglob("*") if p.is_file()) / 1024**3

    started = time.perf_counter()
    report = apply_erasure(settings, requests)
    seconds = time.perf_counter() - started

    figures = {
        "tier": tier.name,
        "requests": report.requests,
        "applied": report.applied,
        "consumers_erased": report.consumers_erased,
        "identifiers_erased": report.identifiers_erased,
        "rows_removed": sum(report.rows_removed.values()),
        "tables_touched": len(report.rows_removed),
        "seconds": round(seconds, 1),
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "data_gb": round(size_gb, 2),
        "full_marts_build_seconds": full_build,
    }
    checks = {f"under {TARGET_SECONDS} s": seconds < TARGET_SECONDS}
    if full_build is not None:
        checks[f"under a full build of the marts ({full_build:.0f} s)"] = seconds < full_build
    print(
        f"\n== erasure, {tier.name} tier: {tier.consumers:,} consumers, {tier.days} days ({size_gb:.1f} GB)"
    )
    print(
        f"  {report.requests} requests, {report.consumers_erased} consumers and "
        f"{report.identifiers_erased} identifiers erased; {figures['rows_removed']:,} rows removed "
        f"from {figures['tables_touched']} tables; {seconds:.1f} s, peak {figures['peak_gb']} GB"
    )
    for check, met in checks.items():
        print(f"  target: {check}: {'met' if met else 'MISSED'}")
    (args.out / f"erasure-{tier.name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
