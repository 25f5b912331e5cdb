"""Generator figures at a tier: rows per feed, wall time and peak memory of a fresh process.

Targets at the medium tier (100k consumers, 30 days) on a 2-core machine: under 2 minutes and
under 4 GB resident.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.tiers import TIERS, Tier, tier_parser
from databank.generator.generate import TRUTH_DIR

TARGET_SECONDS = 120
TARGET_PEAK_GB = 4.0


def run(tier: Tier, out: Path) -> dict:
    """Generate `tier` into `out` with `databank generate` in a child process, and measure it."""
    command = [
        *(sys.executable, "-m", "databank.cli", "generate", "--out", str(out)),
        *("--consumers", str(tier.consumers), "--days", str(tier.days), "--start", tier.start.isoformat()),
        *("--seed", str(tier.seed), "--bad-rate", str(tier.bad_rate)),
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    produced = json.loads((out / TRUTH_DIR / "summary.json").read_text())
    return {
        "tier": tier.name,
        "consumers": tier.consumers,
        "days": tier.days,
        "seconds": round(seconds, 1),
        "peak_gb": round(peak_gb, 2),
        "files": produced["files"],
        "rows": produced["rows"],
    }


def report(figures: dict) -> bool:
    """Print the figures beside their targets; True when both are met."""
    rows = figures["rows"]
    total = sum(rows.values())
    print(
        f"\n== generator, {figures['tier']} tier: {figures['consumers']:,} consumers x {figures['days']} days"
    )
    for feed, count in sorted(rows.items(), key=lambda kv: -kv[1]):
        print(f"  {feed:<18} {count:>12,} rows")
    print(f"  {'total':<18} {total:>12,} rows in {figures['files']:,} files")
    ok_time = figures["seconds"] <= TARGET_SECONDS
    ok_memory = figures["peak_gb"] <= TARGET_PEAK_GB
    print(
        f"  wall time   {figures['seconds']:>8.1f} s   ({total / figures['seconds']:,.0f} rows/s)"
        f"   target <= {TARGET_SECONDS} s: {'met' if ok_time else 'MISSED'}"
    )
    print(
        f"  peak memory {figures['peak_gb']:>8.2f} GB   target <= {TARGET_PEAK_GB} GB:"
        f" {'met' if ok_memory else 'MISSED'}"
    )
    return ok_time and ok_memory


def main(argv: list[str] | None = None) -> int:
    parser = tier_parser(__doc__)
    args = parser.parse_args(argv)
    tier = TIERS[args.tier]
    figures = run(tier, args.out / f"landing-{tier.name}")
    met = report(figures)
    (args.out / f"generator-{tier.name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
