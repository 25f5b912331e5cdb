"""A demo night beside its floor. Target: the night within 5x the floor.

The night: the nightly DAG run in this process, as `databank run` runs it, over the generated demo
brand (`[demo]`: 1,000 consumers), night after night; the last night is the one measured, so
Spark, dbt and Great Expectations are warm and the lakehouse holds earlier nights, as on a brand's
machine. The floor: DuckDB alone, in one process, doing each night's essential work on the same
files: read every delivered file, keep its rows as Parquet, hash every identifier, link identifiers
met in one record into consumers (SciPy's connected components over every night's links so far)
and count the consumers of each funnel state over the nights so far. The floor checks nothing,
keeps no quarantine, history or audit and publishes nothing: it is what no night can go below.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from benchmarks.ingest import duckdb_relation, utf8_copy
from benchmarks.tiers import BENCHMARK_KEY, BENCHMARK_VAULT_KEY
from databank.config import DemoSettings
from databank.contracts import Column, Contract, all_contracts
from databank.generator import GenerateArgs, generate
from databank.landing import list_delivered

TARGET_RATIO = 5.0
DEMO = DemoSettings()
PURCHASES = ("online_orders", "pos_transactions")
INTEREST = ("online_events",)


def demo_landing(out: Path, nights: int) -> list[date]:
    """The demo brand's feeds of `nights` days generated into `out`; returns the days."""
    demo = {"consumers": DEMO.consumers, "start": DEMO.start, "seed": DEMO.seed, "bad_rate": DEMO.bad_rate}
    generate(GenerateArgs(out=out, days=nights, **demo))
    return [DEMO.start + timedelta(days=n) for n in range(nights)]


def databank_nights(
    landing: Path, data: Path, days: list[date], log: Path
) -> list[tuple[float, dict[str, float]]]:
    """Each night's seconds, and its task seconds summed by task (ingest, standardise, ...); Airflow's
    and Spark's logs go to `log`, as `databank run` keeps them."""
    os.environ.update(
        {
            "DATABANK_DATA_DIR": str(data),
            "DATABANK_LANDING_DIR": str(landing),
            "DATABANK_HMAC_KEY": BENCHMARK_KEY,
            "DATABANK_PRIVACY__VAULT_KEY": BENCHMARK_VAULT_KEY,
        }
    )
    from databank.night_runner import output_to, run_days  # read the settings the environment gives

    log.unlink(missing_ok=True)
    with output_to(log):
        nights = run_days(days)
    failed = [night for night in nights if night.state != "success"]
    if failed or len(nights) != len(days):
        day = failed[0].day if failed else days[len(nights)]
        raise RuntimeError(f"the night of {day} failed; its log: {log}")
    by_task = []
    for night in nights:
        seconds: dict[str, float] = defaultdict(float)
        for task in night.tasks:
            seconds[task.task_id.rsplit(".", 1)[-1]] += task.seconds or 0.0
        by_task.append(dict(seconds))
    return [(night.seconds, tasks) for night, tasks in zip(nights, by_task, strict=True)]


def floor_nights(landing: Path, work: Path, days: list[date]) -> list[float]:
    """Each night's seconds for DuckDB and SciPy to do the night's essential work."""
    connection = duckdb.connect()
    seconds = []
    for day in days:
        started = time.perf_counter()
        _read_and_hash(connection, landing, work, day)
        funnel_states(connection, _consumers(connection, work), work)
        seconds.append(time.perf_counter() - started)
    return seconds


def _read_and_hash(connection: duckdb.DuckDBPyConnection, landing: Path, work: Path, day: date) -> None:
    """Every delivered file of the day kept as Parquet, its identifiers hashed as bronze keeps them
    (no raw identifier is written), and its identifier sightings as another Parquet file."""
    for feed, contract in all_contracts().items():
        for n, file in enumerate(list_delivered(landing, contract, day)):
            if file.problem or not file.file_format or file.size == 0:
                continue
            relation = duckdb_relation(file.file_format, utf8_copy(file, work / "decoded.csv"))
            columns = {name for name, *_ in connection.execute(f"DESCRIBE FROM {relation}").fetchall()}
            identifiers = [c for c in contract.identifier_columns if c.name in columns]
            rows = work / "rows" / f"{feed}-{day}-{n}.parquet"
            rows.parent.mkdir(parents=True, exist_ok=True)
            hashed = ", ".join(f"{_keyed_hash(c.name)} AS {c.name}" for c in identifiers)
            kept = f"* REPLACE ({hashed})" if identifiers else "*"
            connection.execute(f"COPY (SELECT {kept} FROM {relation}) TO '{rows}' (FORMAT parquet)")
            if identifiers:
                sightings = work / "sightings" / f"{feed}-{day}-{n}.parquet"
                sightings.parent.mkdir(exist_ok=True)
                seen = _sightings(contract, identifiers, rows, day)
                connection.execute(f"COPY ({seen}) TO '{sightings}' (FORMAT parquet)")


def _sightings(contract: Contract, identifiers: list[Column], rows: Path, day: date) -> str:
    """The SQL of a kept file's identifier sightings: record, day and node (the identifier's type and
    its hash), one row per identifier a record holds."""

    def of(column: Column) -> str:
        spec = column.identifier
        kind = f"'{spec.type}:'" if spec.type else f"{spec.type_column} || ':'"
        return (
            f"SELECT '{contract.feed}' AS feed, CAST({contract.record_id} AS VARCHAR) AS record_id,"
            f" DATE '{day}' AS dt, {kind} || {column.name} AS node FROM '{rows}'"
            f" WHERE {column.name} IS NOT NULL"
        )

    return " UNION ALL ".join(of(column) for column in identifiers)


def _keyed_hash(column: str) -> str:
    """The SQL of the keyed hash of an identifier's normalised value."""
    return f"sha256('{BENCHMARK_KEY}' || lower(trim(CAST({column} AS VARCHAR))))"


def _consumers(connection: duckdb.DuckDBPyConnection, work: Path) -> Path:
    """Every identifier seen so far and its consumer: identifiers of one record are one consumer."""
    links = connection.execute(
        f"SELECT node, min(node) OVER (PARTITION BY feed, record_id) AS root"
        f" FROM '{work / 'sightings' / '*.parquet'}'"
    ).fetchnumpy()
    nodes, index = np.unique(np.concatenate([links["node"], links["root"]]), return_inverse=True)
    ends = index.reshape(2, -1)
    graph = coo_matrix((np.ones(ends.shape[1]), (ends[0], ends[1])), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    consumers = work / "consumers.parquet"
    pq.write_table(pa.table({"node": nodes, "consumer": labels}), consumers)
    return consumers


def funnel_states(connection: duckdb.DuckDBPyConnection, consumers: Path, work: Path) -> dict[str, int]:
    """Consumers by state over the nights so far: loyal (purchases on two days or more), purchase,
    interest, awareness."""
    purchases, interest = (", ".join(f"'{feed}'" for feed in group) for group in (PURCHASES, INTEREST))
    states = connection.execute(
        f"""
        WITH seen AS (
            SELECT DISTINCT c.consumer, s.feed, s.dt
            FROM '{work / "sightings" / "*.parquet"}' AS s JOIN '{consumers}' AS c USING (node)
        )
        SELECT state, count(*) FROM (
            SELECT consumer, CASE
                WHEN count(DISTINCT dt) FILTER (WHERE feed IN ({purchases})) >= 2 THEN 'loyalty'
                WHEN bool_or(feed IN ({purchases})) THEN 'purchase'
                WHEN bool_or(feed IN ({interest})) THEN 'interest'
                ELSE 'awareness' END AS state
            FROM seen GROUP BY consumer
        ) GROUP BY state
        """
    ).fetchall()
    return dict(states)


def report(nights: list[tuple[float, dict[str, float]]], floor: list[float], days: list[date]) -> bool:
    seconds, tasks = nights[-1]
    ratio = seconds / floor[-1]
    print(f"\n== a demo night ({DEMO.consumers:,} consumers), night {len(days)} of {len(days)} ({days[-1]})")
    every = _listed(s for s, _ in nights)
    print(f"  databank, the nightly DAG in process: {seconds:.1f} s (nights: {every})")
    for task, task_seconds in sorted(tasks.items(), key=lambda item: -item[1]):
        print(f"    {task:<28}{task_seconds:>8.1f} s")
    print(f"  floor, DuckDB alone: {floor[-1]:.2f} s (nights: {_listed(floor)})")
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"  ratio {ratio:.1f}x; target: the night within {TARGET_RATIO:g}x its floor: {verdict}")
    return ratio <= TARGET_RATIO


def _listed(seconds) -> str:
    return ", ".join(f"{s:.1f}" for s in seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(".bench"))
    parser.add_argument("--nights", type=int, default=3, help="nights run; the last is measured")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out) as work:
        landing = Path(work) / "landing"
        days = demo_landing(landing, args.nights)
        floor = floor_nights(landing, Path(work) / "floor", days)
        nights = databank_nights(landing, Path(work) / "data", days, args.out / "night-demo.log")
    met = report(nights, floor, days)
    figures = {
        "consumers": DEMO.consumers,
        "days": [d.isoformat() for d in days],
        "night_seconds": [round(s, 2) for s, _ in nights],
        "task_seconds_last_night": {t: round(s, 2) for t, s in nights[-1][1].items()},
        "floor_seconds": [round(s, 3) for s in floor],
    }
    (args.out / "night-demo.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
