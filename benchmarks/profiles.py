"""Two nights of the demo brand on each profile, side by side.

embedded: the nightly DAG in one process, as `databank run` runs it (Spark in that process, the marts
by dbt-duckdb). cluster: the same DAG, its ingest and standardise (one application each for every
feed), identity and marts submitted with spark-submit to a Spark standalone cluster this benchmark
starts on the machine (a master and two one-core workers, as `make cluster` starts it), the marts
built by dbt-spark into gold. Each profile runs in a process of its own (Airflow reads its
configuration once per process), on a data folder of its own, from the same landed files.

Prints each night's seconds on both profiles, and the last night's seconds by step. No target: on one
machine the cluster pays an application per step and dbt-spark's cost per model, which is what these
figures show; the profile is there for the brand whose data outgrow one machine.

    python -m benchmarks.profiles [--nights 2] [--out .bench]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from benchmarks.night import databank_nights, demo_landing
from databank import local_cluster

PROFILES = ("embedded", "cluster")


def run_profile(
    profile: str, landing: Path, data: Path, days: list[date], log: Path, environment: dict
) -> dict:
    """The nights of one profile in a process of its own; its figures."""
    figures = data / "figures.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.profiles",
        "--run-profile",
        profile,
        "--landing",
        str(landing),
        "--data",
        str(data),
        "--log",
        str(log),
        *("--days", ",".join(day.isoformat() for day in days)),
    ]
    # No retries: a failed task fails the night at once instead of waiting out its backoff.
    subprocess.run(command, env={**os.environ, "DATABANK_PIPELINE__RETRIES": "0", **environment}, check=True)
    nights = json.loads(figures.read_text())
    print(f"{profile}: nights of {', '.join(f'{s:.1f}' for s in nights['night_seconds'])} s", flush=True)
    return nights


def _run_nights(landing: Path, data: Path, days: list[date], log: Path) -> None:
    nights = databank_nights(landing, data, days, log)
    figures = {
        "night_seconds": [seconds for seconds, _ in nights],
        "task_seconds": [tasks for _, tasks in nights],
    }
    (data / "figures.json").write_text(json.dumps(figures))


def report(figures: dict[str, dict], days: list[date]) -> None:
    print(f"\n== {len(days)} demo nights on each profile ({days[0]} to {days[-1]})")
    for profile in PROFILES:
        nights = ", ".join(f"{seconds:.1f}" for seconds in figures[profile]["night_seconds"])
        print(f"  {profile:<10} nights: {nights} s")
    steps = sorted(
        set().union(*(figures[p]["task_seconds"][-1] for p in PROFILES)),
        key=lambda step: -figures["cluster"]["task_seconds"][-1].get(step, 0.0),
    )
    print(f"  the last night by step    {'embedded':>10}{'cluster':>10}")
    for step in steps:
        embedded, cluster = (figures[p]["task_seconds"][-1].get(step, 0.0) for p in PROFILES)
        print(f"    {step:<24}{embedded:>10.1f}{cluster:>10.1f}")
    last = [figures[p]["night_seconds"][-1] for p in PROFILES]
    print(f"  the cluster's last night takes {last[1] / last[0]:.1f}x the embedded one (no target)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(".bench"))
    parser.add_argument("--nights", type=int, default=2)
    # A profile's own process (run by this benchmark)
    parser.add_argument("--run-profile", choices=PROFILES, help=argparse.SUPPRESS)
    parser.add_argument("--landing", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--log", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--days", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_profile:
        _run_nights(args.landing, args.data, [date.fromisoformat(d) for d in args.days.split(",")], args.log)
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out.absolute()
    with tempfile.TemporaryDirectory(dir=out) as work:
        landing = Path(work) / "landing"
        days = demo_landing(landing, args.nights)
        figures = {
            "embedded": run_profile(
                "embedded", landing, Path(work) / "embedded", days, out / "profiles-embedded.log", {}
            )
        }
        with local_cluster.start(Path(work) / "cluster") as cluster:
            figures["cluster"] = run_profile(
                "cluster",
                landing,
                Path(work) / "cluster-data",
                days,
                out / "profiles-cluster.log",
                cluster.profile_environment(),
            )
    report(figures, days)
    (out / "profiles.json").write_text(
        json.dumps({"days": [d.isoformat() for d in days], **figures}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
