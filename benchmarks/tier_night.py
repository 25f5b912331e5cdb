"""A night at a tier's size, ingest to published marts, through the nightly DAG as `databank run`
runs it: the night of day 2 after one day of history, and the night of the tier's last day after
every day before it (`--last-night-only`: that night alone). Each history is loaded with
`databank load-history` (docs/history.md), which leaves the lakehouse as the nights would, and is
kept under <out>/night-<tier>-<seed>/ so a later run only copies it. Each night runs in a fresh
process; its peak memory is that of the whole process tree (Python, Spark's JVM, dbt), sampled while
it runs.

Targets (issue: scale): at the small and medium tiers, the last night under 2 minutes and 6 GB, and
at most 1.2x the night of day 2; at the large tier (1M consumers), the night runs end to end on one
24 GB machine.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import psutil

from benchmarks.ingest import landing_for
from benchmarks.tiers import TIERS, Tier, bench_settings, tier_parser
from databank.dbt_project import dbt_work_dir
from spark_jobs.resolve_identity import PAIRS


@dataclass(frozen=True)
class NightTargets:
    peak_gb: float
    seconds: float | None = None  # of the last night
    growth: float | None = None  # the last night's seconds over day 2's


ONE_MACHINE = NightTargets(peak_gb=24.0)
TARGETS = {
    "small": NightTargets(6.0, 120.0, 1.2),
    "medium": NightTargets(6.0, 120.0, 1.2),
    "large": ONE_MACHINE,
}
# DuckDB's share of the memory the target gives the night (marts_build.memory_limit, which a brand
# sets for its machine); the rest is Spark's driver and Python.
MARTS_MEMORY_LIMIT = "3GB"


def loaded_history(tier: Tier, landing: Path, out: Path, last: date) -> Path:
    """The data directory of the tier's history from its first day to `last`: kept, or loaded now
    (in a fresh process, so its memory is not the night's)."""
    root = out / f"night-{tier.name}-{tier.seed}" / f"history-to-{last}"
    marker = root / "history.json"
    # A load that did not finish, or one kept from before load-history ended with housekeeping (its
    # first night would pay for compacting the whole range) or before identity kept each pair once
    # (its first night would read every edge of the range), is loaded again.
    if (
        not marker.is_file()
        or history_step_seconds(root, "housekeeping") is None
        or not (root / "lakehouse" / "silver" / PAIRS).is_dir()
    ):
        shutil.rmtree(root, ignore_errors=True)
        steps = _in_fresh_process(_load_history, str(root), str(landing), tier.start, last)
        seconds = round(sum(steps.values()), 1)
        marker.write_text(
            json.dumps({"first": str(tier.start), "last": str(last), "seconds": seconds, "steps": steps})
        )
    return root


def history_step_seconds(history: Path, step: str) -> float | None:
    """The seconds a kept history's load took on `step` (feeds, identity, marts, housekeeping), where it
    recorded them."""
    return json.loads((history / "history.json").read_text()).get("steps", {}).get(step)


def _load_history(root: str, landing: str, first: date, last: date) -> dict[str, float]:
    from databank.history import load_history

    try:
        load = load_history(bench_settings(Path(root), Path(landing)), first, last)
    except Exception as error:  # Spark's errors hold what cannot be pickled back to the benchmark
        raise RuntimeError(
            f"the history {first} to {last} did not load: {type(error).__name__}: {error}"
        ) from None
    return {step: round(seconds, 1) for step, seconds in load.seconds.items()}


def measured_night(history: Path, landing: Path, day: date, memory_limit: str) -> dict:
    """The night of `day` run on a copy of `history`: its seconds, seconds by task and peak memory."""
    data = history.parent / f"night-of-{day}"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(history, data)
    log = history.parent / f"night-of-{day}.log"
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    night = context.Process(
        target=_run_night, args=(str(landing), str(data), day, str(log), memory_limit, results)
    )
    night.start()
    samples = tree_memory(night)
    night.join()
    if night.exitcode != 0:
        raise RuntimeError(f"the night of {day} failed; its log: {log}")
    seconds, tasks = results.get()
    dbt_results = history.parent / f"night-of-{day}.dbt-run-results.json"
    shutil.copyfile(
        dbt_work_dir(bench_settings(data, landing).reports) / "target" / "run_results.json", dbt_results
    )
    shutil.rmtree(data)
    return {
        "date": str(day),
        "seconds": round(seconds, 1),
        "peak_gb": round(max(rss for _, rss in samples) / 1024**3, 2),
        "peak_gb_by_task": peak_gb_by_task(samples, log.read_text()),
        "tasks": tasks,
        "slowest_dbt_nodes": slowest_nodes(dbt_results, 6),
        "log": str(log),
    }


def slowest_nodes(run_results: Path, count: int) -> dict[str, float]:
    """The seconds of the `count` slowest models and data tests of a dbt invocation."""
    nodes = json.loads(run_results.read_text())["results"]
    slowest = sorted(nodes, key=lambda node: -node["execution_time"])[:count]
    return {node["unique_id"].split(".")[2]: round(node["execution_time"], 1) for node in slowest}


def _run_night(landing: str, data: str, day: date, log: str, memory_limit: str, results) -> None:
    from benchmarks.night import databank_nights

    os.environ["DATABANK_MARTS_BUILD__MEMORY_LIMIT"] = memory_limit

    [(seconds, tasks)] = databank_nights(Path(landing), Path(data), [day], Path(log))
    results.put((seconds, {task: round(task_seconds, 1) for task, task_seconds in tasks.items()}))


def tree_memory(night: multiprocessing.process.BaseProcess) -> list[tuple[float, int]]:
    """(time, bytes) of the resident memory of the night's process and all its descendants (Spark's
    JVM, dbt), summed, sampled every 0.2 s while it runs."""
    root = psutil.Process(night.pid)
    samples = []
    while night.is_alive():
        samples.append((time.time(), _tree_rss(root)))
        time.sleep(0.2)
    return samples


def peak_gb_by_task(samples: list[tuple[float, int]], log: str) -> dict[str, float]:
    """The peak of `samples` while each kind of task ran (ingest, resolve_identity, ...), by the start
    times the night's log gives; the DAG's test run runs one task at a time."""
    starts = sorted(
        (datetime.fromisoformat(stamp).timestamp(), task_id.rsplit(".", 1)[-1])
        for stamp, task_id in re.findall(r"^(\S+) .*\[DAG TEST\] starting task_id=(\S+)", log, re.MULTILINE)
    )
    peaks: dict[str, int] = {}
    for moment, rss in samples:
        running = [task for start, task in starts if start <= moment]
        task = running[-1] if running else "before the first task"
        peaks[task] = max(peaks.get(task, 0), rss)
    return {task: round(rss / 1024**3, 2) for task, rss in sorted(peaks.items(), key=lambda kv: -kv[1])}


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    try:
        tree = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in tree:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue  # ended between the listing and the reading
    return total


def _in_fresh_process(function, *args):
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def report(tier: Tier, nights: dict[str, dict], memory_limit: str) -> bool:
    """Print `nights` (label -> figures, day 2's first where it ran) and the tier's targets; whether
    every target was met."""
    print(
        f"\n== a night through the DAG, {tier.name} tier: {tier.consumers:,} consumers, {tier.days} days "
        f"(marts build memory limit {memory_limit})"
    )
    print(f"  {'night':<24}{'seconds':>9}{'peak GB':>9}   by task")
    for label, night in nights.items():
        tasks = ", ".join(
            f"{task} {s:.0f}" for task, s in sorted(night["tasks"].items(), key=lambda kv: -kv[1])
        )
        print(f"  {label:<24}{night['seconds']:>9.1f}{night['peak_gb']:>9.2f}   {tasks}")
        slowest = ", ".join(f"{node} {s:.1f}" for node, s in night["slowest_dbt_nodes"].items())
        print(f"  {'':<42}slowest dbt nodes: {slowest}")
        peaks = ", ".join(f"{task} {gb:.1f}" for task, gb in night["peak_gb_by_task"].items())
        print(f"  {'':<42}peak GB by task: {peaks}")
    checks = target_checks(tier, list(nights.values()))
    for check, met in checks.items():
        print(f"  target: {check}: {'met' if met else 'MISSED'}")
    return all(checks.values())


def target_checks(tier: Tier, nights: list[dict]) -> dict[str, bool]:
    """Each of the tier's targets -> whether `nights` (day 2's first where it ran, the last night's
    last) met it; a growth target needs both nights."""
    targets, last = TARGETS[tier.name], nights[-1]
    checks = {
        f"peak under {targets.peak_gb:.0f} GB": max(night["peak_gb"] for night in nights) < targets.peak_gb
    }
    if targets.seconds is not None:
        checks[f"day {tier.days} under {targets.seconds:.0f} s"] = last["seconds"] < targets.seconds
    if targets.growth is not None:
        growth = last["seconds"] / nights[0]["seconds"] if len(nights) == 2 else None
        measured = f"{growth:.2f}x" if growth is not None else "day 2 not run"
        checks[f"day {tier.days} at most {targets.growth}x day 2 ({measured})"] = (
            growth is not None and growth <= targets.growth
        )
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = tier_parser(__doc__)
    parser.add_argument(
        "--marts-memory-limit",
        default=MARTS_MEMORY_LIMIT,
        help="DuckDB's memory limit for the marts build (marts_build.memory_limit), e.g. 3GB or 50%%",
    )
    parser.add_argument(
        "--last-night-only", action="store_true", help="run the night of the tier's last day alone"
    )
    args = parser.parse_args(argv)
    tier = TIERS[args.tier]
    limit = args.marts_memory_limit
    args.out.mkdir(parents=True, exist_ok=True)
    landing = landing_for(tier, args.out)
    last = tier.start + timedelta(days=tier.days - 1)
    nights = {}
    if not args.last_night_only:
        early_history = loaded_history(tier, landing, args.out, tier.start)
        early = measured_night(early_history, landing, tier.start + timedelta(days=1), limit)
        nights[f"day 2, {early['date']}"] = early
    late_history = loaded_history(tier, landing, args.out, last - timedelta(days=1))
    nights[f"day {tier.days}, {last}"] = measured_night(late_history, landing, last, limit)
    met = report(tier, nights, limit)
    figures = {
        "tier": tier.name,
        "consumers": tier.consumers,
        "days": tier.days,
        "marts_memory_limit": limit,
        "nights": list(nights.values()),
    }
    (args.out / f"night-{tier.name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
