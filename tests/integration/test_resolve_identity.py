"""OneID end to end: stable on re-runs, incremental equal to a full rebuild, measured against the truth."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from delta_reading import DAYS, START, read_table
from pyspark.sql import functions as F

from databank.evaluation import evaluate_identity
from spark_jobs.resolve_identity import EDGES, HISTORY, MAP, PAIR_COLUMNS, PAIRS, every_linkable_node, resolve
from spark_jobs.standardise import IDENTIFIERS_TABLE
from spark_jobs.transforms.identity import NODE, linkable

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


def _pairs_kept(lake) -> dict:
    kept = read_table(lake, "silver", PAIRS)
    return {day: kept.filter(pl.col("dt") == day).select(PAIR_COLUMNS) for day in kept["dt"].unique()}


def _pairs_recorded(lake, day) -> pl.DataFrame:
    return read_table(lake, "silver", EDGES).filter(pl.col("dt") <= day).select(PAIR_COLUMNS).unique()


def test_a_night_keeps_each_pair_recorded_once_beside_the_night_befores(resolved):
    _, lake, _ = resolved
    kept = _pairs_kept(lake)

    assert set(kept) == {LAST - timedelta(days=1), LAST}
    for day, pairs in kept.items():
        assert pairs.height == pairs.unique().height > 0
        assert pairs.sort(PAIR_COLUMNS).equals(_pairs_recorded(lake, day).sort(PAIR_COLUMNS))


def test_a_night_run_again_before_later_ones_lets_their_pairs_go_and_they_come_back_in_order(spark, resolved):
    settings, lake, _ = resolved
    earlier, before = START + timedelta(days=1), _snapshot(lake, LAST)

    resolve(spark, lake, settings, earlier, update="incremental")
    after_the_earlier = _pairs_kept(lake)
    for day in (earlier + timedelta(days=d) for d in range(1, (LAST - earlier).days + 1)):
        resolve(spark, lake, settings, day, update="incremental")

    # The later night's pairs went; those of the night before the earlier one had gone already (only two
    # nights' are kept), so it read every edge recorded up to its day.
    assert set(after_the_earlier) == {earlier}
    pairs = after_the_earlier[earlier].sort(PAIR_COLUMNS)
    assert pairs.equals(_pairs_recorded(lake, earlier).sort(PAIR_COLUMNS))
    assert set(_pairs_kept(lake)) == {LAST - timedelta(days=1), LAST}
    assert _pairs_kept(lake)[LAST].sort(PAIR_COLUMNS).equals(_pairs_recorded(lake, LAST).sort(PAIR_COLUMNS))
    assert _snapshot(lake, LAST).equals(before)


def test_a_full_night_finds_every_identifier_reading_only_the_sightings_since_the_last_map(spark, resolved):
    # A full night clusters every identifier ever seen. The previous night's map and guards hold
    # those seen before it (each is mapped, or shared and guarded), so the night reads its own
    # sightings instead of all of history's. (The generated nights share no identifier; the medium
    # tier's night of day 29 does, 1,339 guarded the day before, and finds the same 631,228 either way.)
    _, lake, _ = resolved
    before = LAST - timedelta(days=1)
    previous = lake.read(spark, "silver", MAP).where(F.col("dt") == F.lit(before)).drop("dt")
    every_sighting = lake.read(spark, "silver", IDENTIFIERS_TABLE).where(F.col("dt") <= F.lit(LAST))

    found = every_linkable_node(spark, lake, LAST, previous, before)

    assert _nodes(found) == _nodes(linkable(every_sighting).select(NODE))
    assert _nodes(found) > _nodes(linkable(every_sighting.where(F.col("dt") == F.lit(LAST))).select(NODE))


def _nodes(frame) -> set[str]:
    return {row[NODE] for row in frame.distinct().collect()}


def test_against_the_truth_clusters_are_pure_and_no_larger_than_twice_a_real_person(resolved):
    settings, _, _ = resolved

    figures = evaluate_identity(settings, settings.landing / "_truth")

    assert figures["precision"] >= 0.99
    assert figures["against_evidence"]["f1"] >= 0.99
    assert figures["largest_clusters"][0]["identifiers"] <= 2 * figures["largest_true_identifier_set"]
    assert 0 < figures["identification_rate"]["overall"] <= 1
