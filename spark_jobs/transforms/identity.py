"""OneID: identifier sightings into guarded edges, connected components, and stable consumer ids.

Nodes are linkable identifiers (`identifier_status = 'ok'`), keyed `<type>:<hmac>`. Two identifiers
seen on one record are linked, and every edge keeps its evidence (feed, record, day).

Guard: an identifier linked to more distinct identifiers of one kind than `max_partners` allows
(accounts counted per platform) is shared — a store tablet, a family device, a phone typed for
others — and stops linking; it keeps no consumer of its own.

Components: large-star / small-star (Kiveris et al., "Connected Components in MapReduce and
Beyond", SoCC 2014), written on DataFrames so it runs unchanged on a cluster. GraphFrames would be
the library of choice but needs jars from Maven, which our machines cannot reach; the algorithm is
short, published, and converges in O(log n) rounds.

Stable ids: a component keeps the id of the earlier cluster it holds most of; when several earlier
clusters meet, the oldest id survives and the others are recorded as merged into it; the part of an
earlier cluster that lands elsewhere is recorded as split off. A new cluster's id is a hash of its
smallest member and the day, so a re-run mints the same id.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

NODE = "node"
COMPONENT = "component"


def node_key(type_column: str = "identifier_type", hmac_column: str = "identifier_hmac"):
    return F.concat_ws(":", F.col(type_column), F.col(hmac_column))


def linkable(sightings: DataFrame) -> DataFrame:
    """Sightings that may link: valid, not a known placeholder, keyed as graph nodes."""
    return sightings.where(F.col("identifier_status") == "ok").withColumn(NODE, node_key())


def record_edges(sightings: DataFrame) -> DataFrame:
    """Pairs of identifiers seen on one record, with the evidence: one row per pair, record and
    delivery day (`dt`, the day the record's night found the pair)."""
    ends = linkable(sightings).select(
        "feed", "record_id", "seen_date", "dt", NODE, "identifier_type", "identifier_namespace"
    )
    left = ends.select(
        *(
            F.col(c).alias(f"{c}_a") if c in (NODE, "identifier_type", "identifier_namespace") else F.col(c)
            for c in ends.columns
        )
    )
    right = ends.select(
        *(
            F.col(c).alias(f"{c}_b") if c in (NODE, "identifier_type", "identifier_namespace") else F.col(c)
            for c in ends.columns
        )
    )
    pairs = left.join(right, ["feed", "record_id", "seen_date", "dt"])
    pairs = pairs.where(F.col("node_a") < F.col("node_b"))
    return pairs.select(
        F.col("node_a").alias("src"),
        F.col("identifier_type_a").alias("src_type"),
        F.col("identifier_namespace_a").alias("src_namespace"),
        F.col("node_b").alias("dst"),
        F.col("identifier_type_b").alias("dst_type"),
        F.col("identifier_namespace_b").alias("dst_namespace"),
        "feed",
        "record_id",
        "seen_date",
        "dt",
    ).dropDuplicates(["src", "dst", "feed", "record_id", "dt"])


def overlinked(edges: DataFrame, max_partners: dict[str, dict[str, int]]) -> DataFrame:
    """Identifiers with more distinct partners of one kind than allowed, and how many they have."""
    directed = edges.select(
        F.col("src").alias(NODE),
        F.col("src_type").alias("node_type"),
        F.col("dst").alias("partner"),
        F.col("dst_type").alias("partner_type"),
        F.col("dst_namespace").alias("partner_namespace"),
    ).unionByName(
        edges.select(
            F.col("dst").alias(NODE),
            F.col("dst_type").alias("node_type"),
            F.col("src").alias("partner"),
            F.col("src_type").alias("partner_type"),
            F.col("src_namespace").alias("partner_namespace"),
        )
    )
    limits = edges.sparkSession.createDataFrame(
        [(node, partner, n) for node, partners in max_partners.items() for partner, n in partners.items()],
        "node_type string, partner_type string, max_partners int",
    )
    counted = directed.groupBy(NODE, "node_type", "partner_type", "partner_namespace").agg(
        F.countDistinct("partner").alias("partners")
    )
    return (
        counted.join(F.broadcast(limits), ["node_type", "partner_type"])
        .where(F.col("partners") > F.col("max_partners"))
        .select(NODE, "node_type", "partner_type", "partner_namespace", "partners", "max_partners")
    )


def guarded(edges: DataFrame, demoted: DataFrame) -> DataFrame:
    """Edges whose two ends both still link."""
    shared = demoted.select(NODE).distinct()
    kept = edges.join(shared.withColumnRenamed(NODE, "src"), "src", "left_anti")
    return kept.join(shared.withColumnRenamed(NODE, "dst"), "dst", "left_anti")


def connected_components(edges: DataFrame, nodes: DataFrame) -> DataFrame:
    """(node, component) for every node of `nodes` (column `node`); a component is named by its least node."""
    pairs = edges.select(F.least("src", "dst").alias("a"), F.greatest("src", "dst").alias("b"))
    pairs = pairs.where(F.col("a") != F.col("b")).distinct().localCheckpoint()
    while True:
        after = _small_star(_large_star(pairs)).localCheckpoint()
        if after.count() == pairs.count() and after.exceptAll(pairs).isEmpty():
            break
        pairs = after
    # Converged: every component is a star around its least node, edges (leaf, centre) as (b, a).
    leaves = pairs.select(F.col("b").alias(NODE), F.col("a").alias(COMPONENT))
    return (
        nodes.select(NODE)
        .distinct()
        .join(leaves, NODE, "left")
        .withColumn(COMPONENT, F.coalesce(COMPONENT, NODE))
    )


def _large_star(pairs: DataFrame) -> DataFrame:
    """Each node's larger neighbours are linked to the least node of its neighbourhood."""
    both = pairs.select(F.col("a").alias("u"), F.col("b").alias("v")).unionByName(
        pairs.select(F.col("b").alias("u"), F.col("a").alias("v"))
    )
    least = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
    out = (
        both.join(least, "u")
        .where(F.col("v") > F.col("u"))
        .select(F.col("v").alias("x"), F.col("m").alias("y"))
    )
    return (
        out.select(F.least("x", "y").alias("a"), F.greatest("x", "y").alias("b"))
        .where(F.col("a") != F.col("b"))
        .distinct()
    )


def _small_star(pairs: DataFrame) -> DataFrame:
    """Each node and its smaller neighbours are linked to the least of them."""
    least = pairs.groupBy(F.col("b").alias("u")).agg(F.min("a").alias("m"))
    linked = pairs.join(least, pairs.b == least.u).select(F.col("a").alias("x"), "m")
    centre = least.select(F.col("u").alias("x"), "m")
    out = linked.unionByName(centre)
    return (
        out.select(F.least("x", "m").alias("a"), F.greatest("x", "m").alias("b"))
        .where(F.col("a") != F.col("b"))
        .distinct()
    )


def stable_ids(components: DataFrame, previous: DataFrame | None, day: date) -> tuple[DataFrame, DataFrame]:
    """One id per component, kept from earlier clusters where possible.

    `components`: (node, component). `previous`: the identity map before tonight (node, one_id,
    one_id_created) or None. Returns (node, one_id, one_id_created) and the history of tonight's
    merges and splits (old_one_id, new_one_id, day, cause).
    """
    if previous is None:
        previous = components.sparkSession.createDataFrame(
            [], "node string, one_id string, one_id_created date"
        )
    joined = components.join(previous.select(NODE, "one_id", "one_id_created"), NODE, "left")
    # The map and the history both read the overlaps and the ids: each is computed once.
    overlap = (
        joined.where(F.col("one_id").isNotNull())
        .groupBy("one_id", "one_id_created", COMPONENT)
        .agg(F.count("*").alias("members"))
        .localCheckpoint()
    )
    keeper_rank = Window.partitionBy("one_id").orderBy(F.desc("members"), COMPONENT)
    keepers = overlap.withColumn("_r", F.row_number().over(keeper_rank)).where(F.col("_r") == 1).drop("_r")
    oldest = Window.partitionBy(COMPONENT).orderBy("one_id_created", "one_id")
    survivors = (
        keepers.withColumn("_r", F.row_number().over(oldest))
        .where(F.col("_r") == 1)
        .select(
            COMPONENT, F.col("one_id").alias("survivor"), F.col("one_id_created").alias("survivor_created")
        )
    )
    minted = F.concat(
        F.lit("C"), F.substring(F.sha2(F.concat_ws("|", F.col("least_node"), F.lit(str(day))), 256), 1, 24)
    )
    ids = (
        components.groupBy(COMPONENT)
        .agg(F.min(NODE).alias("least_node"))
        .join(survivors, COMPONENT, "left")
        .select(
            COMPONENT,
            F.coalesce("survivor", minted).alias("one_id"),
            F.coalesce("survivor_created", F.lit(day)).alias("one_id_created"),
        )
        .localCheckpoint()
    )
    mapping = components.join(ids, COMPONENT).select(NODE, "one_id", "one_id_created")

    outcome = overlap.join(ids.withColumnRenamed("one_id", "new_one_id").drop("one_id_created"), COMPONENT)
    is_keeper = keepers.select("one_id", COMPONENT, F.lit(True).alias("_keeper"))
    history = (
        outcome.join(is_keeper, ["one_id", COMPONENT], "left")
        .where(F.col("one_id") != F.col("new_one_id"))
        .select(
            F.col("one_id").alias("old_one_id"),
            "new_one_id",
            F.lit(day).alias("day"),
            F.when(F.col("_keeper").isNotNull(), "merge").otherwise("split").alias("cause"),
        )
        .distinct()
    )
    return mapping, history


def seen_on(sightings: DataFrame) -> DataFrame:
    """Each linkable identifier of `sightings` with the first and last local day it was seen
    (node, t_first, t_last)."""
    return (
        linkable(sightings)
        .groupBy(NODE)
        .agg(F.min("seen_date").alias("t_first"), F.max("seen_date").alias("t_last"))
    )


def with_seen(mapping: DataFrame, previous: DataFrame | None, seen: DataFrame) -> DataFrame:
    """The map with each identifier's type and the first and last local day it was seen, before
    tonight (`previous`, the map before) or tonight (`seen`, from `seen_on`)."""
    dated = mapping.join(seen, NODE, "left")
    if previous is not None:
        dated = dated.join(
            previous.select(NODE, F.col("first_seen").alias("p_first"), F.col("last_seen").alias("p_last")),
            NODE,
            "left",
        )
    else:
        dated = dated.withColumn("p_first", F.lit(None).cast("date")).withColumn(
            "p_last", F.lit(None).cast("date")
        )
    return dated.select(
        NODE,
        F.split(NODE, ":").getItem(0).alias("identifier_type"),
        F.substring_index(NODE, ":", -1).alias("identifier_hmac"),
        "one_id",
        "one_id_created",
        F.least("p_first", "t_first").alias("first_seen"),
        F.greatest("p_last", "t_last").alias("last_seen"),
    )


def dated_from_first_sighting(snapshot: DataFrame, day: date) -> DataFrame:
    """Ids minted on `day` for a range take the first day any of their identifiers was seen."""
    first = snapshot.groupBy("one_id").agg(F.min("first_seen").alias("_first"))
    dated = F.when(F.col("one_id_created") == F.lit(day), F.least("_first", "one_id_created"))
    return (
        snapshot.join(first, "one_id")
        .withColumn("one_id_created", F.coalesce(dated, F.col("one_id_created")))
        .select(*snapshot.columns)
    )
