"""Resolve identity for one local day: tonight's identifier sightings -> OneID (Delta).

Completes the night's silver first (an empty table for each feed the brand does not have yet:
`spark_jobs.absent_feeds`), then writes, each partitioned by `dt` and replaced when the day is re-run:
    silver.identity_edges     pairs of identifiers seen on one record, with the evidence
    silver.identity_pairs     each pair recorded up to the day, once (the night before's and the day's)
    silver.identity_guards    identifiers that link too widely to be one person's, and why
    silver.identity_map       snapshot after the day: identifier -> one_id, first and last seen
    silver.one_id_history     ids merged into an older one, or split off, that day

A night is incremental or full (`identity.update`, see `update_mode`): incremental, tonight's edges
join the clusters of yesterday's snapshot, and only the clusters that hold an identifier newly found
to be shared are rebuilt from their edges; full recomputes every cluster from all edges, keeping ids
wherever a cluster is the same set. Both give the same map. `--full-rebuild` asks for a full night
whatever the setting (after a rule change).

    python -m spark_jobs.resolve_identity --date 2026-05-01 [--full-rebuild]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from databank.business_days import days_between
from databank.config import Settings, load_settings
from databank.housekeeping import snapshots_let_go_before
from databank.lakehouse import Lakehouse, lakehouse_for
from databank.spark_session import build_session
from spark_jobs.absent_feeds import create_empty_silver
from spark_jobs.standardise import IDENTIFIERS_TABLE
from spark_jobs.transforms.components_in_memory import components_table, connected_components_in_memory
from spark_jobs.transforms.identity import (
    COMPONENT,
    NODE,
    connected_components,
    dated_from_first_sighting,
    guarded,
    linkable,
    overlinked,
    record_edges,
    seen_on,
    stable_ids,
    with_seen,
)
from spark_jobs.transforms.ids_in_memory import (
    dated_from_first_sighting_in_memory,
    stable_ids_in_memory,
    with_seen_in_memory,
)

EDGES, GUARDS, MAP, HISTORY = "identity_edges", "identity_guards", "identity_map", "one_id_history"
PAIRS = "identity_pairs"
PAIR_COLUMNS = ("src", "src_type", "src_namespace", "dst", "dst_type", "dst_namespace")
Components = Callable[[DataFrame, DataFrame], DataFrame]
Update = Literal["incremental", "full"]


@dataclass(frozen=True)
class IdentityResult:
    dt: date
    mode: str
    edges_tonight: int
    shared_identifiers: int
    identifiers: int
    consumers: int
    merges: int
    splits: int


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--date", required=True, type=date.fromisoformat, help="local business day, YYYY-MM-DD"
    )
    parser.add_argument("--full-rebuild", action="store_true", help="recompute every cluster from all edges")
    args = parser.parse_args(argv)
    settings = load_settings()
    spark = build_session(settings, f"resolve identity {args.date}")
    update = "full" if args.full_rebuild else None
    print(resolve(spark, lakehouse_for(settings), settings, args.date, update=update))


def resolve(
    spark: SparkSession,
    lake: Lakehouse,
    settings: Settings,
    day: date,
    update: Update | None = None,
    since: date | None = None,
) -> IdentityResult:
    """OneID after `day`: incremental or full as `update` says, else as the settings say.

    First, every feed the brand does not have (yet) gets its empty silver table: the night's silver is
    complete once its feeds are standardised, and the marts built on it read every feed.

    `since` (a history load): the sightings of every day from `since` to `day` are resolved at once,
    in a full update from the map before `since`. Each day's edges are recorded under that day; the
    range keeps one snapshot, the map after `day`, and its guards and changes. An id minted for the
    range is dated from its consumer's first sighting.
    """
    create_empty_silver(spark, lake, settings, day)
    days = days_between(since or day, day)
    sightings = lake.read(spark, "silver", IDENTIFIERS_TABLE, {"dt": days})
    if sightings is None:
        raise RuntimeError(
            "silver.identifiers does not exist: standardise the feeds before resolving identity"
        )
    previous_day = _latest_snapshot_day(spark, lake, before=days[0])
    if previous_day is None:
        _refuse_without_the_map_before(spark, lake, days[0])
    where = {"dt": days}
    edges_recorded = _record_edges(spark, lake, days, day)
    recorded = lake.read(spark, "silver", EDGES).where(F.col("dt") <= F.lit(day))
    edges = _distinct_pairs(spark, lake, recorded, day, previous_day)
    shared = overlinked(edges, settings.identity.max_partners).localCheckpoint()
    lake.replace(shared.withColumn("dt", F.lit(day)), "silver", GUARDS, where, ["dt"])

    previous = _snapshot_of(spark, lake, previous_day) if previous_day else None
    nodes = linkable(sightings).select(NODE, "identifier_type").distinct()
    nodes = nodes.join(shared.select(NODE).distinct(), NODE, "left_anti")
    kept = guarded(edges, shared)
    ranged = len(days) > 1
    components_of = components_function(settings)
    in_memory = clusters_in_memory(settings)
    if (update or update_mode(settings)) == "full" or previous is None or ranged:
        mode = "full"
        every_node = every_linkable_node(spark, lake, day, previous, previous_day)
        every_node = every_node.join(shared.select(NODE).distinct(), NODE, "left_anti")
        components = components_table(kept, every_node) if in_memory else components_of(kept, every_node)
        previous_ids = previous
    else:
        mode = "incremental"
        previous_ids = previous.join(shared.select(NODE).distinct(), NODE, "left_anti")
        tonight = guarded(recorded.where(F.col("dt") == F.lit(day)).select("src", "dst"), shared)
        components = _incremental_components(
            previous_ids, shared, previous, kept, tonight=tonight, nodes=nodes, components_of=components_of
        )
    if in_memory:
        previous_map = lake.read_small(spark, "silver", MAP, {"dt": [previous_day]}) if previous_day else None
        snapshot, changes = _map_in_memory(components, previous_map, sightings, day, ranged)
    else:
        snapshot, changes = _map_with_spark(components, previous_ids, previous, sightings, day, ranged)
    dt = pa.field("dt", pa.date32(), nullable=False)
    snapshot = snapshot.append_column(dt, pa.repeat(pa.scalar(day, pa.date32()), len(snapshot)))
    lake.replace(snapshot, "silver", MAP, where, ["dt"])
    lake.replace(changes, "silver", HISTORY, {"day": where["dt"]}, ["day"])
    causes = changes.column("cause").to_pylist()
    return IdentityResult(
        dt=day,
        mode=mode,
        edges_tonight=edges_recorded,
        shared_identifiers=shared.select(NODE).distinct().count(),
        identifiers=snapshot.num_rows,
        consumers=len(set(snapshot.column("one_id").to_pylist())),
        merges=causes.count("merge"),
        splits=causes.count("split"),
    )


def _map_with_spark(
    components: DataFrame,
    previous_ids: DataFrame | None,
    previous: DataFrame | None,
    sightings: DataFrame,
    day: date,
    ranged: bool,
) -> tuple[pa.Table, pa.Table]:
    """The map after `day` (without `dt`) and its merges and splits, kept by Spark: the cluster profile."""
    mapping, history = stable_ids(components.localCheckpoint(), previous_ids, day)
    snapshot = with_seen(mapping, previous, seen_on(sightings))
    if ranged:
        snapshot = dated_from_first_sighting(snapshot, day)
    return snapshot.toArrow(), history.toArrow()


def _map_in_memory(
    components: DataFrame | pa.Table, previous: pa.Table | None, sightings: DataFrame, day: date, ranged: bool
) -> tuple[pa.Table, pa.Table]:
    """`_map_with_spark`'s result kept in this process (`ids_in_memory`): the embedded profile.

    `previous`, the map before, may hold identifiers now shared: they are in no component, so they
    keep no id, as when Spark is given the map without them."""
    if isinstance(components, DataFrame):  # an incremental night's, relabelled in Spark
        components = components.toArrow()
    mapping, history = stable_ids_in_memory(components, previous, day)
    snapshot = with_seen_in_memory(mapping, previous, seen_on(sightings).toArrow())
    if ranged:
        snapshot = dated_from_first_sighting_in_memory(snapshot, day)
    return snapshot, history


def _record_edges(spark: SparkSession, lake: Lakehouse, days: list[date], last: date) -> int:
    """Record the identifier pairs of `days`' sightings under their own days; how many were recorded."""
    sightings = lake.read(spark, "silver", IDENTIFIERS_TABLE, {"dt": days})
    # Every sighting has its day; the coalesce keeps `dt` non-nullable, as the table declares it.
    pairs = record_edges(sightings).withColumn("dt", F.coalesce("dt", F.lit(last))).localCheckpoint()
    lake.replace(pairs, "silver", EDGES, {"dt": days}, ["dt"])
    return pairs.count()


def _distinct_pairs(
    spark: SparkSession, lake: Lakehouse, recorded: DataFrame, day: date, previous_day: date | None
) -> DataFrame:
    """Each pair of identifiers recorded up to `day`, once, kept as `silver.identity_pairs` of `day`.

    Clustering and the guards need each pair once, not its evidence nor each day it was seen: a
    consumer's identifiers meet again on every record they share, night after night (a month of a
    medium-tier brand: 4.4 million recorded pairs, 0.4 million pairs). So a night adds the pairs
    recorded since `previous_day` to those that night kept, and reads all the recorded edges only
    without them: the first night, a night run again after later ones, the night after an erasure
    that deleted them (`databank.privacy.erasure`). Only the night before's pairs and tonight's are
    kept: later nights' no longer hold once an earlier one is run again, and no night reads older ones.
    """
    held = {day_text for (day_text,) in lake.rows_per_partition(spark, "silver", PAIRS, {}, ["dt"])}
    if previous_day is not None and previous_day.isoformat() in held:
        before = lake.read(spark, "silver", PAIRS, {"dt": [previous_day]}).select(*PAIR_COLUMNS)
        since = recorded.where(F.col("dt") > F.lit(previous_day)).select(*PAIR_COLUMNS)
        pairs = before.unionByName(since).distinct().localCheckpoint()
    else:
        pairs = recorded.select(*PAIR_COLUMNS).distinct().localCheckpoint()
    kept = {d.isoformat() for d in (day, previous_day) if d is not None}
    let_go = sorted(date.fromisoformat(d) for d in held - kept)
    lake.replace(pairs.withColumn("dt", F.lit(day)), "silver", PAIRS, {"dt": [day, *let_go]}, ["dt"])
    return pairs


def _incremental_components(
    previous_ids: DataFrame,
    shared: DataFrame,
    previous: DataFrame,
    kept: DataFrame,
    tonight: DataFrame,
    nodes: DataFrame,
    components_of: Components,
) -> DataFrame:
    """Components over tonight's edges (`tonight`, those `kept` by the guards) between earlier clusters
    (as one node each) and new identifiers.

    A cluster that held an identifier now found to be shared is opened up: its members take part as
    themselves, with all their edges, so whatever held together only through that identifier splits.
    """
    opened_ids = previous.join(shared.select(NODE).distinct(), NODE).select("one_id").distinct()
    opened = previous_ids.join(opened_ids, "one_id").select(NODE)
    labels = previous_ids.join(opened, NODE, "left_anti").select(NODE, F.col("one_id").alias("label"))
    repair = kept.join(opened.withColumnRenamed(NODE, "src"), "src").unionByName(
        kept.join(opened.withColumnRenamed(NODE, "dst"), "dst")
    )
    relevant = tonight.unionByName(repair.select("src", "dst")).distinct()
    labelled = (
        relevant.join(
            labels.withColumnRenamed(NODE, "src").withColumnRenamed("label", "src_label"), "src", "left"
        )
        .join(labels.withColumnRenamed(NODE, "dst").withColumnRenamed("label", "dst_label"), "dst", "left")
        .select(F.coalesce("src_label", "src").alias("src"), F.coalesce("dst_label", "dst").alias("dst"))
    )
    new_nodes = nodes.join(previous_ids.select(NODE), NODE, "left_anti").select(NODE)
    label_nodes = (
        labelled.select(F.col("src").alias(NODE))
        .unionByName(labelled.select(F.col("dst").alias(NODE)))
        .unionByName(new_nodes)
        .unionByName(opened)
        .distinct()
    )
    of_label = components_of(labelled, label_nodes).withColumnRenamed(NODE, "label")
    earlier = labels.join(of_label, "label", "left").select(
        NODE, F.coalesce(COMPONENT, "label").alias(COMPONENT)
    )
    fresh = of_label.join(labels.select("label").distinct(), "label", "left_anti").select(
        F.col("label").alias(NODE), COMPONENT
    )
    return earlier.unionByName(fresh)


def update_mode(settings: Settings) -> Update:
    """The night's update the settings ask for (`identity.update`; auto: full when clustering in memory)."""
    if settings.identity.update != "auto":
        return settings.identity.update
    return "full" if clusters_in_memory(settings) else "incremental"


def clusters_in_memory(settings: Settings) -> bool:
    """Whether the settings find clusters in this process (`identity.components`): their ids are then
    kept here too."""
    return components_function(settings) is connected_components_in_memory


def components_function(settings: Settings) -> Components:
    """The clustering the settings ask for (`identity.components`)."""
    choice = settings.identity.components
    if choice == "auto":
        choice = "spark" if settings.profile == "cluster" else "in_memory"
    return connected_components if choice == "spark" else connected_components_in_memory


def _latest_snapshot_day(spark: SparkSession, lake: Lakehouse, before: date) -> date | None:
    """The latest day before `before` that left an identity map."""
    snapshots = lake.read(spark, "silver", MAP)
    if snapshots is None:
        return None
    return snapshots.where(F.col("dt") < F.lit(before)).agg(F.max("dt")).first()[0]


def _refuse_without_the_map_before(spark: SparkSession, lake: Lakehouse, first: date) -> None:
    """A night (or range) from `first` whose map before was deleted by housekeeping
    (`housekeeping.identity_map_days`) would mint new ids for consumers who have theirs: refused."""
    let_go_before = snapshots_let_go_before(lake.path("silver", MAP))
    if let_go_before is None or first > let_go_before:
        return
    earlier = lake.read(spark, "silver", IDENTIFIERS_TABLE).where(F.col("dt") < F.lit(first))
    if not earlier.isEmpty():  # nothing seen before `first`: a history loaded from its start again
        raise RuntimeError(
            f"the identity map before {first} is gone: housekeeping deleted the snapshots before "
            f"{let_go_before} (housekeeping.identity_map_days), and without it the night would give "
            "its consumers new ids. Run nights after that day, or load the history again from its start."
        )


def _snapshot_of(spark: SparkSession, lake: Lakehouse, day: date) -> DataFrame:
    """The identity map as `day` left it."""
    return lake.read(spark, "silver", MAP).where(F.col("dt") == F.lit(day)).drop("dt").localCheckpoint()


def every_linkable_node(
    spark: SparkSession, lake: Lakehouse, day: date, previous: DataFrame | None, previous_day: date | None
) -> DataFrame:
    """Every linkable identifier seen up to `day`.

    The map and the guards `previous_day` left hold every one seen by then (an identifier is mapped
    or shared), so only the sightings since are read: a night reads one day of sightings, not all of
    history (27 million sightings after a month of a medium-tier brand).
    """
    sightings = lake.read(spark, "silver", IDENTIFIERS_TABLE).where(F.col("dt") <= F.lit(day))
    if previous is None or previous_day is None:  # no map yet: every sighting
        return linkable(sightings).select(NODE).distinct()
    since = linkable(sightings.where(F.col("dt") > F.lit(previous_day))).select(NODE)
    shared_then = lake.read(spark, "silver", GUARDS).where(F.col("dt") == F.lit(previous_day))
    return since.unionByName(previous.select(NODE)).unionByName(shared_then.select(NODE)).distinct()


if __name__ == "__main__":
    main()
