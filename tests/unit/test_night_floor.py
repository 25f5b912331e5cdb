"""The demo-night benchmark's floor does the work it stands for: every file read and kept with its
identifiers hashed, identifiers met in one record made one consumer, every consumer in one funnel
state."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from benchmarks.night import demo_landing, floor_nights, funnel_states


@pytest.fixture(scope="module")
def floor(module_tmp) -> tuple[Path, list[float]]:
    root = module_tmp("night-floor")
    days = demo_landing(root / "landing", nights=2)
    return root / "work", floor_nights(root / "landing", root / "work", days)


def test_each_night_is_timed_and_keeps_every_readable_file(floor):
    work, seconds = floor
    assert len(seconds) == 2
    assert all(s > 0 for s in seconds)
    kept = {path.name.split("-")[0] for path in (work / "rows").glob("*.parquet")}
    assert {"online_orders", "online_events", "lbs_pings", "media_exposures", "members"} <= kept
    phones = duckdb.sql(
        f"SELECT receiver_phone FROM read_parquet('{work / 'rows' / 'online_orders-*.parquet'}',"
        " union_by_name = true) WHERE receiver_phone IS NOT NULL"
    ).fetchall()
    assert phones
    assert all(re.fullmatch("[0-9a-f]{64}", phone) for (phone,) in phones)  # hashed, never raw


def test_identifiers_of_one_record_are_one_consumer_and_every_consumer_has_one_state(floor):
    work, _ = floor
    sightings, consumers = work / "sightings" / "*.parquet", work / "consumers.parquet"
    split_records = duckdb.sql(
        f"SELECT count(*) FROM (SELECT feed, record_id FROM '{sightings}' JOIN '{consumers}' USING (node)"
        " GROUP BY feed, record_id HAVING count(DISTINCT consumer) > 1)"
    ).fetchall()[0][0]
    unmapped = duckdb.sql(
        f"SELECT count(*) FROM '{sightings}' ANTI JOIN '{consumers}' USING (node)"
    ).fetchall()[0][0]
    linked = duckdb.sql(
        f"SELECT count(*) FROM (SELECT feed, record_id FROM '{sightings}'"
        " GROUP BY feed, record_id HAVING count(DISTINCT node) > 1)"
    ).fetchall()[0][0]
    assert split_records == 0
    assert unmapped == 0
    assert linked > 0
    states = funnel_states(duckdb.connect(), consumers, work)
    people = duckdb.sql(f"SELECT count(DISTINCT consumer) FROM '{consumers}'").fetchall()[0][0]
    assert sum(states.values()) == people
    assert states["awareness"] > 0
    assert states["purchase"] + states.get("loyalty", 0) > 0
