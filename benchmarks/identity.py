"""Clustering throughput at a tier: OneID's connected components, both ways it finds them (SciPy in
memory, the embedded profile's; large-star/small-star on Spark, the cluster profile's), beside
python-igraph's connected components on the same edge list, in the same run.

Goal: the in-memory clustering at least half igraph's throughput (edges per second), with the same
components. The clustering itself is timed from the edge list in Arrow to the labelled nodes, as
igraph's is from the edge list to its components; beside it, both of OneID's ways as the identity job
calls them, from a Spark DataFrame of the edges to one of the components (Spark's job overhead
included).

The edge list is what the identity job links: pairs of identifiers seen on one record, taken from
every event feed of the tier's landing (generated first if absent) with DuckDB.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb
import igraph
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.ingest import landing_for
from benchmarks.tiers import TIERS, tier_parser
from databank.config import load_settings
from databank.contracts import feeds, load_contract
from databank.spark_session import build_session
from spark_jobs.transforms.components_in_memory import connected_components_in_memory, label_components
from spark_jobs.transforms.identity import connected_components

GOAL_SHARE_OF_IGRAPH = 0.5
REPEATS = 3  # in-process timings: the best of three, so neither pays first-call set-up alone
T = TypeVar("T")


def edge_list(landing: Path, out: Path) -> Path:
    """Identifier pairs of every record of every event feed, written as Parquet (src, dst)."""
    sightings = []
    for feed in feeds("event"):
        contract = load_contract(feed)
        for file_format in contract.formats:
            files = sorted(str(f) for f in (landing / feed).glob(f"dt=*/*.{file_format}") if f.stat().st_size)
            if not files:
                continue
            reader = {"jsonl": "read_json_auto", "csv": "read_csv_auto", "parquet": "read_parquet"}[
                file_format
            ]
            source = f"{reader}({files!r}, union_by_name = true)"
            if file_format == "jsonl":
                source = source[:-1] + ", ignore_errors = true)"
            if file_format == "csv":
                source = source[:-1] + ", ignore_errors = true, all_varchar = true)"
            for column in contract.identifier_columns:
                sightings.append(
                    f"SELECT '{feed}' AS feed, CAST({contract.record_id} AS VARCHAR) AS record,"
                    f" '{column.identifier.type}:' || lower(trim(CAST({column.name} AS VARCHAR))) AS node"
                    f" FROM {source} WHERE {column.name} IS NOT NULL"
                )
    path = out / "identity-edges.parquet"
    duckdb.sql(f"""
        COPY (
            WITH s AS ({" UNION ALL ".join(sightings)})
            SELECT DISTINCT a.node AS src, b.node AS dst
            FROM s a JOIN s b USING (feed, record) WHERE a.node < b.node
        ) TO '{path}' (FORMAT parquet)
    """)
    return path


def igraph_clustering(edges: pa.Table) -> tuple[int, int]:
    """Components and identifiers of the edge list, by python-igraph from Python pairs of ids."""
    names: dict[str, int] = {}
    pairs = [
        (names.setdefault(s, len(names)), names.setdefault(d, len(names)))
        for s, d in zip(edges.column("src").to_pylist(), edges.column("dst").to_pylist(), strict=True)
    ]
    graph = igraph.Graph(n=len(names), edges=pairs)
    return len(graph.connected_components()), len(names)


def arrow_clustering(edges: pa.Table) -> int:
    """Components of the edge list, by OneID's in-memory clustering from the Arrow columns."""
    every_node = pa.chunked_array([*edges.column("src").chunks, *edges.column("dst").chunks])
    labelled = label_components(edges.column("src"), edges.column("dst"), every_node)
    return len(pc.unique(labelled.column("component")))


def best_of(repeats: int, work: Callable[[], T]) -> tuple[float, T]:
    """The shortest of `repeats` timings of `work`, and what it returned."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = work()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def main(argv: list[str] | None = None) -> int:
    parser = tier_parser(__doc__)
    args = parser.parse_args(argv)
    tier = TIERS[args.tier]
    path = edge_list(landing_for(tier, args.out), args.out)
    edges = pq.read_table(path)

    igraph_seconds, (igraph_components, identifiers) = best_of(REPEATS, lambda: igraph_clustering(edges))
    clustering_seconds, in_memory_components = best_of(REPEATS, lambda: arrow_clustering(edges))

    settings = load_settings(data_dir=args.out / "identity-bench")
    spark = build_session(settings, "benchmark identity")
    frame = spark.read.parquet(str(path)).cache()
    nodes = frame.selectExpr("src AS node").union(frame.selectExpr("dst AS node")).distinct().cache()
    frame.count(), nodes.count()  # both timings start from the edges in Spark's memory
    seconds, components = {}, {}
    for name, components_of in (
        ("in_memory", connected_components_in_memory),
        ("spark", connected_components),
    ):
        started = time.perf_counter()
        components[name] = components_of(frame, nodes).select("component").distinct().count()
        seconds[name] = time.perf_counter() - started
    spark.stop()

    n = edges.num_rows
    share = igraph_seconds / clustering_seconds
    same = {in_memory_components, *components.values()} == {igraph_components}
    print(f"\n== identity clustering, {tier.name} tier: {n:,} edges, {identifiers:,} identifiers")
    for label, taken in (
        ("OneID clustering (SciPy on Arrow)", clustering_seconds),
        ("python-igraph (one machine)", igraph_seconds),
        ("job: in memory, DataFrame to DataFrame", seconds["in_memory"]),
        ("job: Spark large-star/small-star", seconds["spark"]),
    ):
        print(f"  {label:<40} {taken:8.2f} s {n / taken:>12,.0f} edges/s")
    print(f"  OneID clustering: {share:.2f}x igraph's throughput (goal >= {GOAL_SHARE_OF_IGRAPH}x)")
    print(
        f"  components: clustering {in_memory_components:,}, in-memory job {components['in_memory']:,},"
        f" Spark job {components['spark']:,},"
        f" igraph {igraph_components:,} ({'same' if same else 'DIFFERENT'})"
    )
    figures = {
        "tier": tier.name,
        "edges": n,
        "identifiers": identifiers,
        "clustering_seconds": round(clustering_seconds, 3),
        "in_memory_job_seconds": round(seconds["in_memory"], 3),
        "spark_seconds": round(seconds["spark"], 2),
        "igraph_seconds": round(igraph_seconds, 3),
        "clustering_share_of_igraph": round(share, 2),
        "components": igraph_components,
    }
    (args.out / f"identity-{tier.name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if same and share >= GOAL_SHARE_OF_IGRAPH else 1


if __name__ == "__main__":
    sys.exit(main())
