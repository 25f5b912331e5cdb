"""Ingest throughput at a tier, beside the floor: DuckDB alone reading the same landing files and
writing them as Parquet on the same machine. Target: ingest within 5x the floor.

Runs over a window of days of the tier's landing (generated first if absent), every event feed.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import duckdb

from benchmarks.tiers import TIERS, Tier, bench_settings, tier_parser
from databank.contracts import feeds, load_contract
from databank.generator import GenerateArgs, generate
from databank.lakehouse import lakehouse_for
from databank.landing import DeliveredFile, decoded, list_delivered
from databank.spark_session import build_session
from spark_jobs.ingest_feed import ingest

TARGET_RATIO = 5.0


def landing_for(tier: Tier, out: Path) -> Path:
    landing = out / f"landing-{tier.name}"
    if not (landing / "_truth" / "summary.json").is_file():
        generate(
            GenerateArgs(
                out=landing,
                consumers=tier.consumers,
                days=tier.days,
                start=tier.start,
                seed=tier.seed,
                bad_rate=tier.bad_rate,
            )
        )
    return landing


def spark_ingest(landing: Path, work: Path, days: list) -> dict[str, tuple[int, float]]:
    """(rows, seconds) per feed through the ingest job, session start-up excluded."""
    settings = bench_settings(work, landing)
    spark = build_session(settings, "benchmark ingest")
    lake = lakehouse_for(settings)
    figures: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for feed in feeds("event"):
        for day in days:
            started = time.perf_counter()
            result = ingest(spark, lake, settings, feed, day)
            figures[feed][0] += result.rows_delivered
            figures[feed][1] += time.perf_counter() - started
    spark.stop()
    return {feed: (int(rows), seconds) for feed, (rows, seconds) in figures.items()}


def duckdb_floor(landing: Path, work: Path, days: list) -> dict[str, float]:
    """Seconds per feed for DuckDB to read each delivered file and write it as Parquet."""
    connection = duckdb.connect()
    seconds: dict[str, float] = defaultdict(float)
    for feed in feeds("event"):
        contract = load_contract(feed)
        for day in days:
            for n, file in enumerate(list_delivered(landing, contract, day)):
                if file.size == 0:
                    continue
                started = time.perf_counter()
                relation = duckdb_relation(file.file_format, utf8_copy(file, work / f"floor-{n}.csv"))
                target = work / f"floor-{feed}-{day}-{n}.parquet"
                connection.execute(f"COPY (SELECT * FROM {relation}) TO '{target}' (FORMAT parquet)")
                seconds[feed] += time.perf_counter() - started
    return dict(seconds)


def utf8_copy(file: DeliveredFile, scratch: Path) -> Path:
    """The file as DuckDB can read it: DuckDB reads UTF-8 text only, so other text is decoded into
    `scratch` first."""
    if file.encoding in (None, "utf-8"):
        return file.path
    scratch.write_text(decoded(file.path.read_bytes(), file.encoding), encoding="utf-8")
    return scratch


def duckdb_relation(file_format: str, source: Path) -> str:
    """DuckDB's reader of a delivered file, as SQL; a record it cannot parse is skipped."""
    if file_format == "parquet":
        return f"read_parquet('{source}')"
    reader = "read_json_auto" if file_format == "jsonl" else "read_csv_auto"
    return f"{reader}('{source}', ignore_errors = true)"


def report(tier: Tier, days: list, spark: dict, floor: dict) -> bool:
    print(f"\n== ingest, {tier.name} tier, {len(days)} days ({days[0]} .. {days[-1]}), every event feed")
    print(f"  {'feed':<18}{'rows':>12}{'ingest s':>10}{'rows/s':>10}{'duckdb s':>10}{'ratio':>8}")
    for feed, (rows, seconds) in sorted(spark.items()):
        _line(feed, rows, seconds, floor.get(feed, 0.0))
    rows, seconds = sum(r for r, _ in spark.values()), sum(s for _, s in spark.values())
    ratio = _line("all", rows, seconds, sum(floor.values()))
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"  target: ingest within {TARGET_RATIO}x the DuckDB floor: {verdict}")
    return ratio <= TARGET_RATIO


def _line(feed: str, rows: int, seconds: float, floor_seconds: float) -> float:
    ratio = seconds / floor_seconds if floor_seconds else float("inf")
    print(
        f"  {feed:<18}{rows:>12,}{seconds:>10.1f}{rows / seconds:>10,.0f}{floor_seconds:>10.1f}{ratio:>8.1f}"
    )
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = tier_parser(__doc__)
    parser.add_argument("--days", type=int, default=3, help="days of the tier's landing to ingest")
    args = parser.parse_args(argv)
    tier = TIERS[args.tier]
    landing = landing_for(tier, args.out)
    days = [tier.start + timedelta(days=tier.days // 2 + n) for n in range(args.days)]
    with tempfile.TemporaryDirectory(dir=args.out) as work:
        spark = spark_ingest(landing, Path(work) / "data", days)
        floor = duckdb_floor(landing, Path(work), days)
    met = report(tier, days, spark, floor)
    figures = {
        "tier": tier.name,
        "days": [d.isoformat() for d in days],
        "ingest": {f: {"rows": r, "seconds": round(s, 2)} for f, (r, s) in spark.items()},
        "duckdb_floor_seconds": {f: round(s, 2) for f, s in floor.items()},
    }
    (args.out / f"ingest-{tier.name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
