"""Who an audience sends to a destination on a run day: its consenting consumers and the identifiers
(vault nodes, HMACs only) each of them is reached by.

- phones and device ids: every one of the consumer's in the identity map as the run day's night left
  it, with the device's kind (IDFA or OAID) as the feeds that saw it said;
- member ids: only the consumer's membership of the audience's brand that carries the consent (the
  compiled audience's `member_id_hmac`), never their memberships of other brands.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from databank.audiences.compiler import CompiledAudience

MEMBER_COLUMNS = ("one_id", "node", "identifier_type", "device_kind")
# Silver tables whose rows say which kind of device id they carry.
DEVICE_KIND_TABLES = ("lbs_pings", "media_exposures")


def consenting_members(
    con: duckdb.DuckDBPyConnection, compiled: CompiledAudience, identifier_types: tuple[str, ...]
) -> pa.Table:
    """One row per (consenting consumer, identifier of one of `identifier_types`), ordered."""
    linked_types = [kind for kind in identifier_types if kind != "member_id"]
    parts = []
    if linked_types:
        parts.append(f"""
select audience.one_id, map.identifier_key as node, map.identifier_type, kinds.device_kind
from audience
join staging.stg_identity__identity_map as map on audience.one_id = map.one_id
left join ({_device_kinds_sql(con)}) as kinds on map.identifier_hmac = kinds.device_id_hmac
    and map.identifier_type = 'device_id'
where audience.has_consent and list_contains($linked_types, map.identifier_type)""")
    if "member_id" in identifier_types:
        parts.append("""
select audience.one_id, 'member_id:' || audience.member_id_hmac, 'member_id', null
from audience
where audience.has_consent and audience.member_id_hmac is not null""")
    if not parts:
        return pa.table({column: pa.array([], pa.string()) for column in MEMBER_COLUMNS})
    sql = (
        f"with audience as (\n{compiled.sql}\n)\n"
        f"select * from ({' union all '.join(parts)}) as members ({', '.join(MEMBER_COLUMNS)})\n"
        "order by one_id, node"
    )
    parameters = dict(compiled.parameters)
    if linked_types:
        parameters["linked_types"] = linked_types
    return con.sql(sql, params=parameters).to_arrow_table()


def _device_kinds_sql(con: duckdb.DuckDBPyConnection) -> str:
    """device_id_hmac -> its kind, from the silver tables that record it (a device seen as both keeps
    the kind seen last alphabetically: the feeds agree on real data)."""
    present = {
        table
        for (table,) in con.sql(
            "select table_name from information_schema.columns where table_schema = 'silver' "
            "and column_name = 'device_id_type'"
        ).fetchall()
    }
    sources = [
        f"select device_id_hmac, device_id_type from silver.{table}"
        for table in DEVICE_KIND_TABLES
        if table in present
    ]
    if not sources:
        return "select null::varchar as device_id_hmac, null::varchar as device_kind where false"
    return (
        "select device_id_hmac, max(device_id_type) as device_kind "
        f"from ({' union all '.join(sources)}) as sightings "
        "where device_id_hmac is not null group by device_id_hmac"
    )
