"""OneID rules on tiny graphs: guards, components, and ids that stay put."""

import random
from datetime import date, timedelta

import pytest
from pyspark.testing import assertDataFrameEqual

from databank.config import load_settings
from databank.housekeeping import keep_lakehouse
from databank.lakehouse import lakehouse_for
from spark_jobs.resolve_identity import MAP, resolve, update_mode
from spark_jobs.standardise import IDENTIFIERS_TABLE
from spark_jobs.transforms.components_in_memory import connected_components_in_memory
from spark_jobs.transforms.identity import connected_components, guarded, overlinked, record_edges, stable_ids

DAY = date(2026, 5, 3)
SIGHTINGS = (
    "feed string, record_id string, identifier_type string, identifier_namespace string,"
    " identifier_hmac string, identifier_status string, seen_date date, dt date"
)


def _sightings(spark, rows):
    return spark.createDataFrame([(*r, DAY, DAY) for r in rows], SIGHTINGS)


def test_identifiers_on_one_record_are_linked_and_junk_never_is(spark):
    sightings = _sightings(
        spark,
        [
            ("online_orders", "O1", "account_id", "tmall", "a1", "ok"),
            ("online_orders", "O1", "phone", None, "p1", "ok"),
            ("online_orders", "O1", "phone", None, "placeholder", "junk"),
            ("online_orders", "O2", "account_id", "tmall", "a2", "ok"),
        ],
    )

    edges = record_edges(sightings).select("src", "dst", "record_id")

    assertDataFrameEqual(edges, [("account_id:a1", "phone:p1", "O1")])


def test_a_device_logged_into_two_accounts_of_one_platform_is_shared(spark):
    sightings = _sightings(
        spark,
        [
            ("online_events", "E1", "device_id", None, "tablet", "ok"),
            ("online_events", "E1", "account_id", "tmall", "mum", "ok"),
            ("online_events", "E2", "device_id", None, "tablet", "ok"),
            ("online_events", "E2", "account_id", "tmall", "dad", "ok"),
            ("online_events", "E3", "device_id", None, "phone1", "ok"),
            ("online_events", "E3", "account_id", "tmall", "mum", "ok"),
            ("online_events", "E4", "device_id", None, "phone1", "ok"),
            ("online_events", "E4", "account_id", "jd", "mum-jd", "ok"),
        ],
    )
    edges = record_edges(sightings)

    shared = overlinked(edges, {"device_id": {"account_id": 1}})

    assert [r["node"] for r in shared.collect()] == ["device_id:tablet"]
    assert {(r["src"], r["dst"]) for r in guarded(edges, shared).collect()} == {
        ("account_id:mum", "device_id:phone1"),
        ("account_id:mum-jd", "device_id:phone1"),
    }


@pytest.mark.parametrize("components_of", [connected_components, connected_components_in_memory])
def test_components_follow_paths_of_any_length(spark, components_of):
    edges = spark.createDataFrame([("d", "c"), ("c", "b"), ("b", "a"), ("x", "y")], "src string, dst string")
    nodes = spark.createDataFrame([(n,) for n in "abcdxyz"], "node string")

    components = components_of(edges, nodes)

    assertDataFrameEqual(
        components, [("a", "a"), ("b", "a"), ("c", "a"), ("d", "a"), ("x", "x"), ("y", "x"), ("z", "z")]
    )


def test_in_memory_components_equal_sparks_on_a_random_graph(spark):
    draw = random.Random(7)
    names = [
        f"{draw.choice(['phone', 'member_id', 'device_id'])}:{draw.randrange(10**6):06x}" for _ in range(300)
    ]
    pairs = [(draw.choice(names), draw.choice(names)) for _ in range(220)]
    edges = spark.createDataFrame(pairs, "src string, dst string")
    # Nodes asked for: most of the graph's, some it never links, not every edge's end.
    nodes = spark.createDataFrame(
        [(n,) for n in [*names[:250], "phone:lonely", "phone:lonely"]], "node string"
    )

    assertDataFrameEqual(connected_components_in_memory(edges, nodes), connected_components(edges, nodes))


def _previous(spark, rows):
    return spark.createDataFrame(rows, "node string, one_id string, one_id_created date")


def test_when_clusters_merge_the_oldest_id_survives_and_the_merge_is_recorded(spark):
    previous = _previous(spark, [("a", "C-new", date(2026, 5, 2)), ("b", "C-old", date(2026, 5, 1))])
    components = spark.createDataFrame([("a", "a"), ("b", "a")], "node string, component string")

    mapping, history = stable_ids(components, previous, DAY)

    assert {r["node"]: r["one_id"] for r in mapping.collect()} == {"a": "C-old", "b": "C-old"}
    assertDataFrameEqual(history, [("C-new", "C-old", DAY, "merge")])


def test_a_split_keeps_the_id_on_the_larger_part_and_records_the_other(spark):
    previous = _previous(spark, [(n, "C1", date(2026, 5, 1)) for n in "abc"])
    components = spark.createDataFrame([("a", "a"), ("b", "a"), ("c", "c")], "node string, component string")

    mapping, history = stable_ids(components, previous, DAY)
    ids = {r["node"]: r["one_id"] for r in mapping.collect()}

    assert ids["a"] == ids["b"] == "C1"
    assert ids["c"] != "C1"
    assertDataFrameEqual(history, [("C1", ids["c"], DAY, "split")])


def test_new_clusters_get_the_same_id_when_the_day_is_run_again(spark):
    components = spark.createDataFrame([("a", "a"), ("b", "a")], "node string, component string")

    first, _ = stable_ids(components, None, DAY)
    again, history = stable_ids(components, None, DAY)

    assertDataFrameEqual(first, again)
    assert history.isEmpty()


@pytest.mark.parametrize(
    ("profile", "components", "update", "expected"),
    [
        ("embedded", "auto", "auto", "full"),  # clusters in memory: clustering every edge is cheaper
        ("cluster", "auto", "auto", "incremental"),  # the edges stay distributed
        ("embedded", "spark", "auto", "incremental"),
        ("embedded", "auto", "incremental", "incremental"),
        ("cluster", "auto", "full", "full"),
    ],
)
def test_a_night_is_full_where_clusters_are_found_in_memory_unless_the_settings_say(
    profile, components, update, expected
):
    settings = load_settings(profile=profile, identity={"components": components, "update": update})

    assert update_mode(settings) == expected


def test_a_night_whose_map_before_housekeeping_deleted_is_refused_and_a_later_one_runs(spark, tmp_path):
    # GIVEN four nights resolved, then an upkeep that keeps one day of snapshots (and the one before)
    settings = load_settings(data_dir=tmp_path, hmac_key="suite-key", housekeeping={"identity_map_days": 1})
    lake = lakehouse_for(settings)
    days = [DAY + timedelta(days=n) for n in range(4)]
    rows = [
        ("online_orders", f"O{n}", kind, namespace, f"{kind}-{n}", "ok", day, day)
        for n, day in enumerate(days)
        for kind, namespace in (("phone", None), ("account_id", "tmall"))
    ]
    lake.replace(
        spark.createDataFrame(rows, SIGHTINGS).toArrow(), "silver", IDENTIFIERS_TABLE, {"dt": days}, ["dt"]
    )
    for day in days:
        resolve(spark, lake, settings, day)
    assert keep_lakehouse(settings, days[-1]).map_snapshots_deleted == 1
    map_of_day_2 = lake.read_small(spark, "silver", MAP, {"dt": [days[1]]})

    # WHEN the second night is run again, its map before gone, THEN it is refused and its map stays
    with pytest.raises(RuntimeError, match=f"the identity map before {days[1]} is gone"):
        resolve(spark, lake, settings, days[1])
    assert lake.read_small(spark, "silver", MAP, {"dt": [days[1]]}).equals(map_of_day_2)

    # AND the third, whose map before is kept, runs again with every id it had
    before = lake.read_small(spark, "silver", MAP, {"dt": [days[2]]}).sort_by("node")
    assert resolve(spark, lake, settings, days[2]).consumers == 3
    assert lake.read_small(spark, "silver", MAP, {"dt": [days[2]]}).sort_by("node").equals(before)
