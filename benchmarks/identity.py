"""Clustering throughput at a tier: OneID's connected components (large-star/small-star on Spark)
beside python-igraph's connected components on the same edge list, in the same run.

The edge list is what the identity job links: pairs of identifiers seen on one record, taken from
every event feed of the tier's landing (generated first if absent) with DuckDB.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb
import igraph
import pyarrow.parquet as pq

from benchmarks.ingest import landing_for
from benchmarks.tiers import TIERS, tier_parser
from databank.config import load_settings
from databank.contracts import feeds, load_contract
from databank.spark_session import build_session
from spark_jobs.transforms.identity import connected_components


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


def main(argv: list[str] | None = None) -> int:
    parser = tier_parser(__doc__)
    args = parser.parse_args(argv)
    tier = TIERS[args.tier]
    path = edge_list(landing_for(tier, args.out), args.out)
    edges = pq.read_table(path)

    started = time.perf_counter()
    names = {}
    pairs = [
        (names.setdefault(s, len(names)), names.setdefault(d, len(names)))
        for s, d in zip(edges.column("src").to_pylist(), edges.column("dst").to_pylist(), strict=True)
    ]
    graph = igraph.Graph(n=len(names), edges=pairs)
    igraph_components = len(graph.connected_components())
    igraph_seconds = time.perf_counter() - started

    settings = load_settings(data_dir=args.out / "identity-bench")
    spark = build_session(settings, "benchmark identity")
    frame = spark.read.parquet(str(path))
    nodes = frame.selectExpr("src AS node").union(frame.selectExpr("dst AS node")).distinct()
    started = time.perf_counter()
    ours = connected_components(frame, nodes).select("component").distinct().count()
    spark_seconds = time.perf_counter() - started
    spark.stop()

    n = edges.num_rows
    print(f"\n== identity clustering, {tier.name} tier: {n:,} edges, {len(names):,} identifiers")
    print(f"  OneID (Spark large-star/small-star) {spark_seconds:8.1f} s {n / spark_seconds:>12,.0f} edges/s")
    print(
        f"  python-igraph (one machine)         {igraph_seconds:8.1f} s {n / igraph_seconds:>12,.0f} edges/s"
    )
    print(
        f"  components: OneID {ours:,}, igraph {igraph_components:,}"
        f" ({'same' if ours == igraph_components else 'DIFFERENT'})"
    )
    figures = {
        "tier": tier.name,
        "edges": n,
        "identifiers": len(names),
        "spark_seconds": round(spark_seconds, 2),
        "igraph_seconds": round(igraph_seconds, 2),
        "components": ours,
    }
    (args.out / f"identity-{tier.name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if ours == igraph_components else 1


if __name__ == "__main__":
    sys.exit(main())
