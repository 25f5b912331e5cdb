"""The tier-night benchmark's figures mean what they say: the peak memory counts the processes a
night starts (Spark's JVM, dbt) and not only its own, and the slowest dbt nodes are the slowest."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys

from benchmarks.tier_night import peak_tree_gb, slowest_nodes

HELD_MB = 400


def _start_a_process_that_holds_memory() -> None:
    holds = f"import time; held = bytearray({HELD_MB} * 2**20); time.sleep(2)"
    subprocess.run([sys.executable, "-c", holds], check=True)


def test_the_peak_counts_the_memory_of_the_nights_child_processes():
    night = multiprocessing.get_context("spawn").Process(target=_start_a_process_that_holds_memory)
    night.start()
    peak = peak_tree_gb(night)
    night.join()
    assert night.exitcode == 0
    # The night's own process holds far less; the bytes are its child's.
    assert peak >= HELD_MB / 1024


def test_the_slowest_nodes_are_the_slowest_by_execution_time(tmp_path):
    results = tmp_path / "run_results.json"
    nodes = [
        ("model.databank.dim_consumers", 0.5),
        ("test.databank.unique_x.5e1f2a", 3.0),
        ("model.databank.y", 1.5),
    ]
    results.write_text(json.dumps({"results": [{"unique_id": uid, "execution_time": s} for uid, s in nodes]}))
    assert slowest_nodes(results, 2) == {"unique_x": 3.0, "y": 1.5}
