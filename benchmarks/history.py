"""A brand's history in one load at a tier's volume: two years of online orders and CRM member changes
loaded with `databank load-history`, beside the night-by-night estimate measured on the same
deliveries in the same run. Target: the load takes under 15 minutes.

The landing is built once per tier and seed and cached under <out>/history-<tier>-<seed>/landing: the
generator simulates the tier's consumers for four weeks; its orders and member changes are
delivered again and again over two years, each repeat moved in time and given record ids of its
own (the brand group's reference data lands on the first day). The estimate runs the nights' work
(every feed ingested and standardised, identity, the marts) for a few nights on a fresh lakehouse
and multiplies the mean night, the first aside, by the days: a lower bound, since a night's marts
grow with its history and the nightly DAG adds its quality gates and Airflow's own work.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.tiers import TIERS, Tier, bench_settings, tier_parser
from databank.config import Settings
from databank.contracts import load_contract

TARGET_SECONDS = 15 * 60
DAYS = 730
CYCLE = 28  # days simulated; their deliveries repeat over the two years
LOADED = ("online_orders", "members")
REFERENCE = ("brands", "products", "stores")
SAMPLE_NIGHTS = 4
DAY_MS = 86_400_000


def history_landing(tier: Tier, out: Path) -> Path:
    """Two years of the tier's orders and member changes, cached; built now if absent."""
    from databank.generator.delivery import Delivery
    from databank.generator.generate import DEFAULT_RATES, reference_tables, rng_factory
    from databank.generator.population import build_population
    from databank.generator.simulate import Simulation, utc_offset_ms
    from databank.generator.world import build_world

    landing = out / f"history-{tier.name}-{tier.seed}" / "landing"
    marker = landing / "_built.json"
    if marker.is_file():
        return landing
    shutil.rmtree(landing, ignore_errors=True)  # a build that did not finish
    tz = ZoneInfo("Asia/Shanghai")
    rng_for = rng_factory(tier.seed)
    world = build_world(rng_for("world"), tier.consumers, tier.start, CYCLE)
    people = build_population(rng_for("population"), tier.consumers, world, DEFAULT_RATES)
    simulation = Simulation(world, people, DEFAULT_RATES, tz, rng_for)
    simulated = [{f: t for f, t in simulation.day(i).items() if f in LOADED} for i in range(CYCLE)]
    rows = dict.fromkeys(LOADED, 0)
    for index in range(DAYS):
        # Day 0 holds the CRM's whole member base; the repeats cycle through the days after it.
        source = 0 if index == 0 else 1 + (index - 1) % (CYCLE - 1)
        repeat = 0 if index == 0 else (index - 1) // (CYCLE - 1)
        day = tier.start + timedelta(days=index)
        delivery = Delivery(landing, utc_offset_ms(day, tz), 0.0)
        tables = {
            feed: _moved(table, feed, index - source, repeat, tier.start + timedelta(days=source), day)
            for feed, table in simulated[source].items()
        }
        if index == 0:
            tables |= {name: t for name, t in reference_tables(world, day).items() if name in REFERENCE}
        for feed, table in tables.items():
            delivery.deliver(load_contract(feed), table, f"{day:%Y%m%d}", rng_for(feed, index), damage=False)
            rows[feed] = rows.get(feed, 0) + table.num_rows
        for feed in set(LOADED) - set(tables):
            delivery.deliver_nothing(load_contract(feed), f"{day:%Y%m%d}")
    marker.write_text(json.dumps({"tier": tier.name, "days": DAYS, "rows": rows}, indent=2) + "\n")
    return landing


def _moved(table: pa.Table, feed: str, shift_days: int, repeat: int, simulated: date, day: date) -> pa.Table:
    """A simulated day's records delivered `shift_days` later: times moved, ids of the repeat's own."""
    time_column = {"online_orders": "transacted_at", "members": "updated_at"}[feed]
    ids = {
        "online_orders": ("order_line_id", "order_id", "refund_of_line_id"),
        "members": ("member_record_id",),
    }
    moved = {time_column: pc.add(table[time_column], shift_days * DAY_MS)}
    if feed == "members":
        joined = pc.add(table["joined_on"], pa.scalar(timedelta(days=shift_days)))
        moved["joined_on"] = pc.cast(joined, pa.date32())
    if repeat:
        moved |= {c: pc.binary_join_element_wise(f"H{repeat}", table[c], "-") for c in ids[feed]}
    moved["_file"] = pc.replace_substring(table["_file"], f"{simulated:%Y%m%d}", f"{day:%Y%m%d}")
    for name, column in moved.items():
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def history_settings(root: Path, landing: Path) -> Settings:
    pipeline = {"required_feeds": LOADED, "optional_feeds": REFERENCE}
    return bench_settings(root, landing, pipeline=pipeline)


def load_seconds(tier: Tier, landing: Path, root: Path) -> tuple[float, dict]:
    """Wall time of `load_history` over the two years, and what it loaded."""
    from databank.history import load_history

    settings = history_settings(root, landing)
    started = time.perf_counter()
    load = load_history(settings, tier.start, tier.start + timedelta(days=DAYS - 1))
    seconds = time.perf_counter() - started
    loaded = {feed: vars(figures) for feed, figures in load.feeds.items()}
    return seconds, {"feeds": loaded, "consumers": load.consumers, "steps": load.seconds}


def night_seconds(tier: Tier, landing: Path, root: Path) -> list[float]:
    """Wall time of each of the first nights run as nights (every landed feed, identity, the marts)."""
    from databank.history import run_night_jobs

    settings = history_settings(root, landing)
    seconds = []
    for offset in range(SAMPLE_NIGHTS):
        started = time.perf_counter()
        run_night_jobs(settings, tier.start + timedelta(days=offset))
        seconds.append(time.perf_counter() - started)
    return seconds


def report(tier: Tier, loaded: float, figures: dict, nights: list[float]) -> bool:
    per_night = sum(nights[1:]) / len(nights[1:])
    estimate = per_night * DAYS
    feeds = figures["feeds"]
    print(f"\n== history load, {tier.name} tier: {tier.consumers:,} consumers, {DAYS} days of {LOADED}")
    for feed, f in feeds.items():
        print(
            f"  {feed:<16}{f['days']:>5} days {f['rows_delivered']:>12,} rows delivered"
            f" {f['rows_silver']:>12,} in silver"
        )
    steps = figures["steps"]
    print(
        f"  load-history     {loaded:>8.1f} s  (feeds {steps['feeds']:.0f} s, identity"
        f" {steps['identity']:.0f} s, marts {steps['marts']:.0f} s; {figures['consumers']:,} consumers)"
    )
    print(
        f"  night by night   {estimate:>8.1f} s  at least: {per_night:.1f} s a night (nights "
        f"{', '.join(f'{s:.1f}' for s in nights)} s; the first aside) x {DAYS}"
    )
    met = loaded <= TARGET_SECONDS
    print(
        f"  {estimate / loaded:.0f}x faster than night by night; target: under"
        f" {TARGET_SECONDS // 60} minutes: {'met' if met else 'MISSED'}"
    )
    return met


def main(argv: list[str] | None = None) -> int:
    args = tier_parser(__doc__).parse_args(argv)
    tier = TIERS[args.tier]
    landing = history_landing(tier, args.out)
    work = args.out / f"history-{tier.name}-{tier.seed}"
    for run in ("load", "nights"):
        shutil.rmtree(work / run, ignore_errors=True)
    loaded, figures = load_seconds(tier, landing, work / "load")
    nights = night_seconds(tier, landing, work / "nights")
    met = report(tier, loaded, figures, nights)
    result = {"tier": tier.name, "days": DAYS, "load_seconds": round(loaded, 1), "nights": nights, **figures}
    (args.out / f"history-{tier.name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
