"""OneID end to end: stable on re-runs, incremental equal to a full rebuild, measured against the truth."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from delta_reading import DAYS, START, read_table

from databank.evaluation import evaluate_identity
from spark_jobs.resolve_identity import HISTORY, MAP, resolve

pytestmark = pytest.mark.slow
LAST = START + timedelta(days=DAYS - 1)


def _snapshot(lake, day) -> pl.DataFrame:
    return read_table(lake, "silver", MAP).filter(pl.col("dt") == day).sort("node")


def _partition(snapshot: pl.DataFrame) -> set[frozenset]:
    return {frozenset(group["node"]) for _, group in snapshot.group_by("one_id")}


def test_nights_after_the_first_are_incremental_and_clusters_merge(resolved):
    _, _, results = resolved

    assert [r.mode for r in results] == ["full"] + ["incremental"] * (DAYS - 1)
    assert sum(r.merges for r in results) > 0


def test_every_merge_is_recorded_with_the_older_id_surviving(resolved):
    _, lake, _ = resolved
    history = read_table(lake, "silver", HISTORY).filter(pl.col("cause") == "merge")
    snapshots = read_table(lake, "silver", MAP)
    created = dict(snapshots.group_by("one_id").agg(pl.col("one_id_created").min()).iter_rows())

    assert history.height > 0
    for row in history.iter_rows(named=True):
        assert (created[row["new_one_id"]], row["new_one_id"]) <= (
            created[row["old_one_id"]],
            row["old_one_id"],
        )
        assert row["old_one_id"] not in set(_snapshot(lake, row["day"])["one_id"])


def test_running_a_night_again_changes_no_id(spark, resolved):
    settings, lake, _ = resolved
    before = _snapshot(lake, LAST)

    resolve(spark, lake, settings, LAST)

    assert _snapshot(lake, LAST).equals(before)


def test_incremental_nights_equal_a_full_rebuild_of_the_same_edges(spark, resolved):
    settings, lake, _ = resolved
    incremental = _snapshot(lake, LAST)

    resolve(spark, lake, settings, LAST, update="full")
    rebuilt = _snapshot(lake, LAST)
    resolve(spark, lake, settings, LAST, update="incremental")  # leave the night as the fixture left it

    assert _partition(rebuilt) == _partition(incremental)
    assert rebuilt.select("node", "one_id").equals(incremental.select("node", "one_id"))


def test_against_the_truth_clusters_are_pure_and_no_larger_than_twice_a_real_person(resolved):
    settings, _, _ = resolved

    figures = evaluate_identity(settings, settings.landing / "_truth")

    assert figures["precision"] >= 0.99
    assert figures["against_evidence"]["f1"] >= 0.99
    assert figures["largest_clusters"][0]["identifiers"] <= 2 * figures["largest_true_identifier_set"]
    assert 0 < figures["identification_rate"]["overall"] <= 1
