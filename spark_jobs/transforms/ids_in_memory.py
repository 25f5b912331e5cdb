"""OneID's stable ids and dated map computed in one process with DuckDB over Arrow, for the embedded
profile.

The sequel of `components_in_memory`: the components come out of SciPy as Arrow, and the map before
tonight is read as Arrow from Delta, so keeping ids and dating identifiers in the same process spares
the night handing every identifier to Spark and back (a medium-tier brand: 630,000 identifiers, some
20 of the re-resolve's 45 seconds). The cluster profile keeps the Spark transforms, where the map does
not have to fit on the driver.

Same rules and contracts as `identity.stable_ids`, `identity.with_seen` and
`identity.dated_from_first_sighting`, tested against them. Strings order bytewise in both engines, so
a keeper, a survivor and a least node are the same ones.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa

from spark_jobs.transforms.identity import COMPONENT, NODE

IDS = pa.schema(
    [
        pa.field(NODE, pa.string()),
        pa.field("one_id", pa.string()),
        pa.field("one_id_created", pa.date32(), nullable=False),
    ]
)
CHANGES = pa.schema(
    [
        pa.field("old_one_id", pa.string()),
        pa.field("new_one_id", pa.string()),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("cause", pa.string(), nullable=False),
    ]
)
SNAPSHOT = pa.schema(
    [
        pa.field(NODE, pa.string()),
        pa.field("identifier_type", pa.string()),
        pa.field("identifier_hmac", pa.string()),
        pa.field("one_id", pa.string()),
        pa.field("one_id_created", pa.date32(), nullable=False),
        pa.field("first_seen", pa.date32()),
        pa.field("last_seen", pa.date32()),
    ]
)
SEEN = (NODE, "t_first", "t_last")

# Spark orders nulls first in an ascending sort; DuckDB last unless told.
_STABLE_IDS = f"""
with overlap as (
    select p.one_id, p.one_id_created, c.{COMPONENT}, count(*) as members
    from components c join previous p using ({NODE})
    where p.one_id is not null
    group by all
),
keepers as (
    select * from overlap
    qualify row_number() over (
        partition by one_id order by members desc, {COMPONENT} asc nulls first
    ) = 1
),
survivors as (
    select {COMPONENT}, one_id as survivor, one_id_created as survivor_created
    from keepers
    qualify row_number() over (
        partition by {COMPONENT} order by one_id_created asc nulls first, one_id asc nulls first
    ) = 1
),
least_nodes as (
    select {COMPONENT}, min({NODE}) as least_node from components group by {COMPONENT}
),
ids as (
    select
        l.{COMPONENT},
        coalesce(s.survivor, 'C' || substr(sha256(l.least_node || '|' || $day), 1, 24)) as one_id,
        coalesce(s.survivor_created, $day::date) as one_id_created
    from least_nodes l left join survivors s using ({COMPONENT})
)
"""
_MAPPING = f"select c.{NODE}, i.one_id, i.one_id_created from components c join ids i using ({COMPONENT})"
_HISTORY = f"""
select distinct
    o.one_id as old_one_id,
    i.one_id as new_one_id,
    $day::date as day,
    case when k.one_id is not null then 'merge' else 'split' end as cause
from overlap o
join ids i using ({COMPONENT})
left join keepers k on k.one_id = o.one_id and k.{COMPONENT} = o.{COMPONENT}
where o.one_id != i.one_id
"""
_WITH_SEEN = f"""
select
    m.{NODE},
    split_part(m.{NODE}, ':', 1) as identifier_type,
    split_part(m.{NODE}, ':', -1) as identifier_hmac,
    m.one_id,
    m.one_id_created,
    least(p.first_seen, t.t_first) as first_seen,
    greatest(p.last_seen, t.t_last) as last_seen
from mapping m
left join seen t using ({NODE})
left join previous p using ({NODE})
"""
_DATED = """
select * replace (
    case when one_id_created = $day::date
        then least(min(first_seen) over (partition by one_id), one_id_created)
        else one_id_created end as one_id_created
)
from snapshot
"""


def stable_ids_in_memory(
    components: pa.Table, previous: pa.Table | None, day: date
) -> tuple[pa.Table, pa.Table]:
    """(node, one_id, one_id_created) for every node of `components` (node, component), and tonight's
    merges and splits (old_one_id, new_one_id, day, cause): `identity.stable_ids`' rules."""
    previous = _or_empty(previous, IDS)
    with duckdb.connect() as db:
        db.register("components", components)
        db.register("previous", previous.select(IDS.names))
        parameters = {"day": day.isoformat()}
        mapping = db.sql(_STABLE_IDS + _MAPPING, params=parameters).to_arrow_table()
        history = db.sql(_STABLE_IDS + _HISTORY, params=parameters).to_arrow_table()
    return mapping.cast(IDS), history.cast(CHANGES)


def with_seen_in_memory(mapping: pa.Table, previous: pa.Table | None, seen: pa.Table) -> pa.Table:
    """The map with each identifier's type and the first and last day it was seen, before tonight
    (`previous`) or tonight (`seen`: node, t_first, t_last): `identity.with_seen`."""
    with duckdb.connect() as db:
        db.register("mapping", mapping)
        db.register("previous", _or_empty(previous, SNAPSHOT).select([NODE, "first_seen", "last_seen"]))
        db.register("seen", seen.select(list(SEEN)))
        return db.sql(_WITH_SEEN).to_arrow_table().cast(SNAPSHOT)


def dated_from_first_sighting_in_memory(snapshot: pa.Table, day: date) -> pa.Table:
    """Ids minted on `day` for a range take the first day any of their identifiers was seen:
    `identity.dated_from_first_sighting`."""
    with duckdb.connect() as db:
        db.register("snapshot", snapshot)
        return db.sql(_DATED, params={"day": day.isoformat()}).to_arrow_table().cast(snapshot.schema)


def _or_empty(table: pa.Table | None, schema: pa.Schema) -> pa.Table:
    return schema.empty_table() if table is None else table
