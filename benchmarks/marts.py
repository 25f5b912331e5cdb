"""Marts build time at a tier: the one-pass full dbt build of day N-1 (`databank marts --restate`), then
the incremental night N, each published (warehouse swap and gold Delta tables) the way `databank marts`
does it.

Silver is prepared once per tier and seed with the pipeline (every feed ingested and standardised,
identity resolved, night by night over the tier's landing, generated first if absent) and cached
under <out>/marts-<tier>-<seed>/; later runs reuse it. Each build runs in a fresh process, so its
peak memory is its own: the builder process (silver registration, gold) and dbt's subprocess.
Target: the incremental night takes less time than the full build.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.ingest import landing_for
from benchmarks.tiers import TIERS, Tier, bench_settings, tier_parser
from databank.contracts import feeds


def prepared_silver(tier: Tier, out: Path) -> Path:
    """The data directory of the tier's resolved silver: cached, or made now with Spark."""
    root = out / f"marts-{tier.name}-{tier.seed}"
    marker = root / "silver.json"
    if marker.is_file():
        return root
    from databank.lakehouse import lakehouse_for
    from databank.spark_session import build_session
    from spark_jobs.ingest_feed import ingest
    from spark_jobs.resolve_identity import resolve
    from spark_jobs.standardise import standardise

    landing = landing_for(tier, out)
    shutil.rmtree(root, ignore_errors=True)  # a preparation that did not finish
    settings = bench_settings(root, landing)
    spark = build_session(settings, "benchmark marts: prepare silver")
    lake = lakehouse_for(settings)
    every_feed = [*feeds("event"), *feeds("reference")]
    started = time.perf_counter()
    for offset in range(tier.days):
        day = tier.start + timedelta(days=offset)
        for feed in every_feed:
            ingest(spark, lake, settings, feed, day)
        for feed in every_feed:
            standardise(spark, lake, settings, feed, day)
        resolve(spark, lake, settings, day)
        print(f"  silver prepared for {day}", flush=True)
    spark.stop()
    seconds = round(time.perf_counter() - started, 1)
    marker.write_text(json.dumps({"tier": tier.name, "seed": tier.seed, "seconds": seconds}) + "\n")
    return root


def timed_build(root: Path, landing: Path, day: date, full_refresh: bool) -> dict:
    """One `build_marts` in a fresh process; its figures."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_build_in_child, (str(root), str(landing), day.isoformat(), full_refresh))


def _build_in_child(root: str, landing: str, day: str, full_refresh: bool) -> dict:
    from databank.marts import build_marts

    settings = bench_settings(Path(root), Path(landing))
    started = time.perf_counter()
    # One pass over all of history: a full refresh would replay the nights one by one instead.
    result = build_marts(settings, date.fromisoformat(day), restate=full_refresh)
    seconds = time.perf_counter() - started
    return {
        "date": day,
        "full_refresh": full_refresh,
        "seconds": round(seconds, 1),
        "dbt_seconds": round(result.dbt_seconds, 1),
        "gold_seconds": round(result.gold_seconds, 1),
        # ru_maxrss is in KiB on Linux; dbt's process is a child of this one.
        "builder_peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "dbt_peak_gb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2, 2),
        "rows": {t.name: t.rows for t in result.tables},
        "gold_partitions_written": {t.name: t.partitions_written for t in result.tables if t.partition_by},
        "warehouse_mb": round(settings.warehouse.stat().st_size / 1024**2, 1),
    }


def report(tier: Tier, full: dict, night: dict) -> bool:
    print(
        f"\n== marts (dbt build + publish), {tier.name} tier: {tier.consumers:,} consumers, {tier.days} days"
    )
    print(f"  {'build':<28}{'total s':>9}{'dbt s':>9}{'gold s':>9}{'dbt GB':>9}{'builder GB':>12}")
    for label, figures in ((f"full, {full['date']}", full), (f"incremental, {night['date']}", night)):
        print(
            f"  {label:<28}{figures['seconds']:>9.1f}{figures['dbt_seconds']:>9.1f}"
            f"{figures['gold_seconds']:>9.1f}{figures['dbt_peak_gb']:>9.2f}{figures['builder_peak_gb']:>12.2f}"
        )
    print(f"  warehouse {night['warehouse_mb']:,.1f} MB; rows tonight: ", end="")
    print(
        ", ".join(
            f"{name} {rows:,}" for name, rows in sorted(night["rows"].items(), key=lambda kv: -kv[1])[:4]
        )
    )
    print(f"  gold partitions rewritten tonight: {night['gold_partitions_written']}")
    met = night["seconds"] < full["seconds"]
    ratio = night["seconds"] / full["seconds"]
    print(
        f"  target: incremental night below the full build: {'met' if met else 'MISSED'} ({ratio:.0%} of it)"
    )
    return met


def main(argv: list[str] | None = None) -> int:
    args = tier_parser(__doc__).parse_args(argv)
    tier = TIERS[args.tier]
    args.out.mkdir(parents=True, exist_ok=True)
    root = prepared_silver(tier, args.out)
    landing = landing_for(tier, args.out)
    # Every run starts from nothing published, so the full build is a first build.
    for published in (root / "warehouse", root / "reports", root / "lakehouse" / "gold"):
        shutil.rmtree(published, ignore_errors=True)
    last = tier.start + timedelta(days=tier.days - 1)
    full = timed_build(root, landing, last - timedelta(days=1), full_refresh=True)
    night = timed_build(root, landing, last, full_refresh=False)
    met = report(tier, full, night)
    figures = {
        "tier": tier.name,
        "consumers": tier.consumers,
        "days": tier.days,
        "full": full,
        "night": night,
    }
    (args.out / f"marts-{tier.name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
