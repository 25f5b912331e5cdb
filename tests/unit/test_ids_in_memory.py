"""OneID's ids kept in memory (the embedded profile) follow the same rules as Spark's (the cluster's)."""

import random
from datetime import date, timedelta

import pyarrow as pa
import pytest

from spark_jobs.transforms.components_in_memory import label_components
from spark_jobs.transforms.identity import dated_from_first_sighting, stable_ids, with_seen
from spark_jobs.transforms.ids_in_memory import (
    SNAPSHOT,
    dated_from_first_sighting_in_memory,
    stable_ids_in_memory,
    with_seen_in_memory,
)

DAY = date(2026, 5, 30)
PREVIOUS = "node string, one_id string, one_id_created date, first_seen date, last_seen date"


def _rows(table) -> list[tuple]:
    arrow = table if isinstance(table, pa.Table) else table.toArrow()
    return sorted(tuple(row.values()) for row in arrow.to_pylist())


def _night(seed: int):
    """Yesterday's map of random clusters and tonight's components of a random graph over most of its
    identifiers and new ones: clusters merge, split and keep, ids tie on their day, sizes tie."""
    draw = random.Random(seed)
    names = sorted(
        {
            f"{draw.choice(['phone', 'member_id', 'device_id'])}:{draw.randrange(16**6):06x}"
            for _ in range(400)
        }
    )
    known = names[:300]  # the rest are new tonight
    days = [DAY - timedelta(days=d) for d in (1, 2, 3)]

    def some_day():
        return draw.choice([*days, None])

    ids = [(f"C{n:03d}", draw.choice(days)) for n in range(80)]
    previous = []
    for node in known:
        one_id, created = draw.choice(ids)
        first = some_day()
        previous.append((node, one_id, created, first, first and max(first, some_day() or first)))
    pairs = [(draw.choice(names), draw.choice(names)) for _ in range(260)]
    asked = [n for n in names if draw.random() < 0.9]
    components = label_components(
        pa.chunked_array([[s for s, _ in pairs]]),
        pa.chunked_array([[d for _, d in pairs]]),
        pa.chunked_array([asked]),
    )
    seen = [(node, DAY - timedelta(days=1), DAY) for node in asked if draw.random() < 0.5]
    return previous, components, seen


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_ids_kept_in_memory_equal_sparks_on_a_random_night(spark, seed):
    previous_rows, components, seen_rows = _night(seed)
    previous = spark.createDataFrame(previous_rows, PREVIOUS)
    seen = spark.createDataFrame(seen_rows, "node string, t_first date, t_last date")
    previous_arrow = previous.toArrow()

    mapping, history = stable_ids(spark.createDataFrame(components), previous, DAY)
    kept, changes = stable_ids_in_memory(components, previous_arrow, DAY)

    assert _rows(kept) == _rows(mapping)
    assert _rows(changes) == _rows(history)
    assert {row[3] for row in _rows(changes)} == {"merge", "split"}  # the night tried both
    snapshot = with_seen(mapping, previous, seen)
    snapshot_in_memory = with_seen_in_memory(kept, previous_arrow, seen.toArrow())
    assert _rows(snapshot_in_memory) == _rows(snapshot)
    assert snapshot_in_memory.schema == SNAPSHOT
    dated = dated_from_first_sighting(snapshot, DAY)
    assert _rows(dated_from_first_sighting_in_memory(snapshot_in_memory, DAY)) == _rows(dated)


def test_a_first_night_in_memory_mints_sparks_ids(spark):
    _, components, seen_rows = _night(5)
    seen = spark.createDataFrame(seen_rows, "node string, t_first date, t_last date")

    mapping, history = stable_ids(spark.createDataFrame(components), None, DAY)
    kept, changes = stable_ids_in_memory(components, None, DAY)

    assert _rows(kept) == _rows(mapping)
    assert changes.num_rows == 0
    assert history.isEmpty()
    assert _rows(with_seen_in_memory(kept, None, seen.toArrow())) == _rows(with_seen(mapping, None, seen))
