"""Erasure: a person's request to be forgotten, from the request to every table that held them.

A request names a phone, a member id (the `erasure_requests` feed, or `databank erase`) or a one_id
(`databank erase --one-id`). One mechanism serves both:

1. Resolve: the identifiers named -> their one_ids in the latest OneID snapshot (and the ids merged
   into those earlier) -> every identifier of those one_ids -> every record that carried one.
2. Suppress: a token per identifier (SHA-256 of its OneID node, itself a keyed HMAC) joins the
   suppression list, which ingestion reads: a re-delivered or late file, or a new sighting, cannot
   bring the person back. The list holds tokens, never the HMACs the tables hold, so it cannot be
   joined back to them.
3. Purge: every Delta table of the lakehouse, the warehouse and the audience exports lose the
   person's rows (`databank.privacy.purge`), the touched tables are vacuumed, and the identifier
   vault destroys their keys. OneID's set of identifier pairs goes whole when their records paired
   two identifiers neither of theirs (`_drop_identity_pairs`).
4. Audit: one row per request (received, applied, what was resolved, tables touched, rows removed),
   with no identifier in it; a request that matches nobody is recorded as such, not dropped.

Nightly, erasure runs after every feed is standardised and before OneID, so the night's identity
and marts are built without the people erased that night.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake

from databank.config import Settings
from databank.privacy.personal_columns import statistics_configuration
from databank.privacy.purge import (
    Erased,
    active_dataset,
    delta_tables,
    purge_delta_table,
    purge_exports,
    purge_warehouse,
    rows_where_in,
)
from databank.reach.sync import hold_for_removal

PRIVACY = "privacy"
ERASURE_FEED = "erasure_requests"
SUPPRESSION_TABLE = "suppressed_identifiers"
AUDIT_TABLE = "erasure_audit"
REQUEST_KINDS = ("phone", "member_id")
PURGE_THREADS = 8

AUDIT_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("source", pa.string()),
        ("requested_at", pa.timestamp("us")),
        ("applied_at", pa.timestamp("us")),
        ("status", pa.string()),
        ("identifiers_erased", pa.int64()),
        ("consumers_erased", pa.int64()),
        ("tables_touched", pa.string()),
        ("rows_removed", pa.int64()),
        ("vault_keys_destroyed", pa.int64()),
    ]
)
SUPPRESSION_SCHEMA = pa.schema(
    [
        ("identifier_type", pa.string()),
        ("token", pa.string()),
        ("request_id", pa.string()),
        ("suppressed_at", pa.timestamp("us")),
    ]
)


@dataclass(frozen=True)
class ErasureRequest:
    request_id: str
    source: str  # feed | command
    requested_at: datetime | None
    nodes: tuple[str, ...] = ()
    one_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErasureReport:
    requests: int
    applied: int
    nothing_held: int
    identifiers_erased: int
    consumers_erased: int
    rows_removed: dict[str, int]
    vault_keys_destroyed: int


def suppression_token(node: str) -> str:
    """What the suppression list keeps of an identifier: the SHA-256 (hex) of its OneID node."""
    return hashlib.sha256(node.encode()).hexdigest()


def privacy_path(settings: Settings, table: str) -> Path:
    return Path(settings.lakehouse) / PRIVACY / table


def command_request(settings: Settings, *, phone: str | None, member_id: str | None, one_id: str | None):
    """A request typed at the command line, its identifiers hashed as ingestion hashes them."""
    key = settings.pseudonymisation_key()
    named = (("phone", phone), ("member_id", member_id))
    nodes = tuple(command_node(kind, value, key) for kind, value in named if value)
    request_id = f"command-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    return ErasureRequest(request_id, "command", _now(), nodes, (one_id,) if one_id else ())


def command_node(kind: str, value: str, key: bytes) -> str:
    """The OneID node of a phone or member id: normalised as `spark_jobs.transforms.identifiers`
    normalises it (a test holds the two together), then HMAC-SHA256 under the brand's key."""
    if kind == "phone":
        digits = re.sub(r"[^0-9]", "", value)
        normal = re.sub(r"^(0086|86)(?=1[0-9]{10}$)", "", digits)
    elif kind == "member_id":
        normal = re.sub(r"[ \t\n\x0b\f\r]", "", value).upper()
    else:
        raise ValueError(f"an erasure request names a phone or a member id, not {kind!r}")
    return f"{kind}:{hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()}"


def pending_feed_requests(settings: Settings, day: date) -> list[ErasureRequest]:
    """Requests delivered by the `erasure_requests` feed up to `day` that were not applied yet."""
    path = Path(settings.lakehouse) / "silver" / ERASURE_FEED
    if not (path / "_delta_log").is_dir():
        return []
    rows = active_dataset(path).to_table(
        columns=["request_id", "requested_at", "identifier_type", "identifier_value_hmac"],
        filter=pc.field("dt") <= pc.scalar(day),
    )
    done = set(read_audit(settings).column("request_id").to_pylist())
    requests: dict[str, ErasureRequest] = {}
    for row in rows.to_pylist():
        if row["request_id"] in done or row["identifier_value_hmac"] is None:
            continue
        node = f"{row['identifier_type']}:{row['identifier_value_hmac']}"
        earlier = requests.get(row["request_id"])
        nodes = (*earlier.nodes, node) if earlier else (node,)
        requests[row["request_id"]] = ErasureRequest(row["request_id"], "feed", row["requested_at"], nodes)
    return sorted(requests.values(), key=lambda r: r.request_id)


def apply_erasure(settings: Settings, requests: Iterable[ErasureRequest]) -> ErasureReport:
    """Resolve, suppress, purge and audit `requests` together (one pass over the tables)."""
    requests = list(requests)
    if not requests:
        return ErasureReport(0, 0, 0, 0, 0, {}, 0)
    resolved = resolve(settings, requests)
    everyone = Erased(
        frozenset().union(*(e.nodes for e in resolved.values())),
        frozenset().union(*(e.one_ids for e in resolved.values())),
        frozenset().union(*(e.records for e in resolved.values())),
    )
    _suppress(settings, resolved)
    removed = _purge_everywhere(settings, everyone)
    # Destinations an audience sync sent them to must still be told to drop them: their values stay
    # sealed, apart, until the next syncs have sent the removes (databank.reach.sync).
    hold_for_removal(settings, everyone.nodes)
    destroyed = _shred_vault(settings, everyone.nodes)
    _audit(settings, requests, resolved, removed, destroyed)
    return ErasureReport(
        requests=len(requests),
        applied=sum(bool(e.one_ids) for e in resolved.values()),
        nothing_held=sum(not e.one_ids for e in resolved.values()),
        identifiers_erased=len(everyone.nodes),
        consumers_erased=len(everyone.one_ids),
        rows_removed=removed,
        vault_keys_destroyed=destroyed,
    )


def resolve(settings: Settings, requests: list[ErasureRequest]) -> dict[str, Erased]:
    """Every identifier, one_id and record of the person each request names (one pass over the
    OneID tables for all of them)."""
    silver = Path(settings.lakehouse) / "silver"
    nodes = {r.request_id: set(r.nodes) for r in requests}
    one_ids = {r.request_id: set(r.one_ids) for r in requests}
    snapshots = silver / "identity_map"
    if (snapshots / "_delta_log").is_dir():
        every = active_dataset(snapshots)
        last_night = max((p["dt"] for p in DeltaTable(str(snapshots)).partitions()), default=None)
        of_latest = pc.field("dt") == pc.scalar(date.fromisoformat(str(last_night)))
        named = rows_where_in(every, ["node", "one_id"], "node", set().union(*nodes.values()), of_latest)
        ids_of = _grouped(named, "node", "one_id")
        merged_into = _merges(silver / "one_id_history")
        for request_id, named_nodes in nodes.items():
            one_ids[request_id] |= set().union(*(ids_of.get(node, set()) for node in named_nodes))
            one_ids[request_id] |= _earlier_ids(merged_into, one_ids[request_id])
        # Every snapshot: an id merged away is found with the identifiers it had then.
        theirs = rows_where_in(every, ["one_id", "node"], "one_id", set().union(*one_ids.values()))
        nodes_of = _grouped(theirs, "one_id", "node")
        for request_id, ids in one_ids.items():
            nodes[request_id] |= set().union(*(nodes_of.get(one_id, set()) for one_id in ids))
    records = _records(silver / "identifiers", set().union(*nodes.values()))
    return {
        request_id: Erased(
            frozenset(nodes[request_id]),
            frozenset(one_ids[request_id]),
            frozenset().union(*(records.get(node, set()) for node in nodes[request_id])),
        )
        for request_id in nodes
    }


def _grouped(rows: pa.Table, key: str, value: str) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for row in rows.to_pylist():
        grouped.setdefault(row[key], set()).add(row[value])
    return grouped


def _merges(history: Path) -> dict[str, set[str]]:
    """new one_id -> the ids merged into it."""
    if not (history / "_delta_log").is_dir():
        return {}
    merges = rows_where_in(active_dataset(history), ["old_one_id", "new_one_id"], "cause", {"merge"})
    return _grouped(merges, "new_one_id", "old_one_id")


def _earlier_ids(merged_into: dict[str, set[str]], one_ids: set[str]) -> set[str]:
    """The ids merged, at any depth, into one of `one_ids` (earlier names of the same people)."""
    found, frontier = set(), set(one_ids)
    while frontier:
        earlier = set().union(*(merged_into.get(one_id, set()) for one_id in frontier)) - found - one_ids
        found |= earlier
        frontier = earlier
    return found


def _records(sightings: Path, nodes: set[str]) -> dict[str, set[tuple[str, str]]]:
    """node -> the records (feed, record_id) that carried it."""
    if not nodes or not (sightings / "_delta_log").is_dir():
        return {}
    hmacs = {node.split(":", 1)[1] for node in nodes}
    columns = ["feed", "record_id", "identifier_type", "identifier_hmac"]
    records: dict[str, set[tuple[str, str]]] = {}
    for row in rows_where_in(active_dataset(sightings), columns, "identifier_hmac", hmacs).to_pylist():
        node = f"{row['identifier_type']}:{row['identifier_hmac']}"
        if node in nodes:
            records.setdefault(node, set()).add((row["feed"], row["record_id"]))
    return records


def _purge_everywhere(settings: Settings, erased: Erased) -> dict[str, int]:
    if not erased:
        return {}
    lakehouse = Path(settings.lakehouse)
    vacuum = settings.privacy.erasure_vacuum
    _drop_identity_pairs(lakehouse, erased)
    tables = delta_tables(lakehouse)
    # Tables are independent, and scanning and rewriting them runs in Arrow and delta-rs, outside
    # the interpreter's lock: a table per core (each holds a few batches of rows at a time).
    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, PURGE_THREADS)) as pool:
        touched = pool.map(lambda table: purge_delta_table(table, erased, vacuum), tables)
        names = [table.relative_to(lakehouse).as_posix() for table in tables]
        removed = {name: rows for name, rows in zip(names, touched, strict=True) if rows}
    warehouse = settings.warehouse
    duckdb_config = settings.marts_build.duckdb_config(warehouse)
    for name, rows in purge_warehouse(warehouse, lakehouse, erased, duckdb_config).items():
        removed[f"warehouse:{name}"] = rows
    for name, rows in purge_exports(settings.audience_exports, erased).items():
        removed[f"exports:{name}"] = rows
    return removed


def _drop_identity_pairs(lakehouse: Path, erased: Erased) -> None:
    """Delete, whole, the pairs of identifiers the identity nights keep when the people's records
    paired two identifiers that are neither of theirs (identifiers shared too widely to be in anyone's
    cluster): such a pair cannot be told from the same pair seen on others' records, so the next night
    rebuilds the set from the edges left. Otherwise the set, as every table, only loses the rows
    naming them. Run before the purge, which removes their records' edges."""
    from spark_jobs.resolve_identity import EDGES, PAIRS  # the job that writes them names them

    pairs, edges = lakehouse / "silver" / PAIRS, lakehouse / "silver" / EDGES
    if not erased.records or not (pairs / "_delta_log").is_dir() or not (edges / "_delta_log").is_dir():
        return
    record_ids = {record_id for _, record_id in erased.records}
    columns = ["feed", "record_id", "src", "dst"]
    carried = rows_where_in(active_dataset(edges), columns, "record_id", record_ids)
    if any(
        (edge["feed"], edge["record_id"]) in erased.records and not {edge["src"], edge["dst"]} & erased.nodes
        for edge in carried.to_pylist()
    ):
        shutil.rmtree(pairs)


def _shred_vault(settings: Settings, nodes: frozenset[str]) -> int:
    from databank.privacy.vault import Vault

    if not nodes or not (settings.vault_keys / "_delta_log").is_dir():
        return 0
    return Vault.open(settings).shred(nodes)


def _suppress(settings: Settings, resolved: dict[str, Erased]) -> None:
    known = set(read_suppressed_tokens(settings))
    rows = [
        {
            "identifier_type": node.split(":", 1)[0],
            "token": suppression_token(node),
            "request_id": request_id,
            "suppressed_at": _now(),
        }
        for request_id, erased in resolved.items()
        for node in sorted(erased.nodes)
    ]
    fresh = [row for row in rows if row["token"] not in known]
    if fresh:
        _append(privacy_path(settings, SUPPRESSION_TABLE), pa.Table.from_pylist(fresh, SUPPRESSION_SCHEMA))


def read_suppressed_tokens(settings: Settings) -> list[str]:
    path = privacy_path(settings, SUPPRESSION_TABLE)
    if not (path / "_delta_log").is_dir():
        return []
    return active_dataset(path).to_table(columns=["token"]).column("token").to_pylist()


def read_audit(settings: Settings) -> pa.Table:
    path = privacy_path(settings, AUDIT_TABLE)
    if not (path / "_delta_log").is_dir():
        return AUDIT_SCHEMA.empty_table()
    return active_dataset(path).to_table()


def _audit(settings, requests, resolved, removed: dict[str, int], destroyed: int) -> None:
    applied_at = _now()
    touched = ",".join(sorted(removed))
    rows = [
        {
            "request_id": r.request_id,
            "source": r.source,
            "requested_at": r.requested_at,
            "applied_at": applied_at,
            "status": "applied" if resolved[r.request_id].one_ids else "nothing_held",
            "identifiers_erased": len(resolved[r.request_id].nodes),
            "consumers_erased": len(resolved[r.request_id].one_ids),
            # Requests applied together share one pass: the tables and rows are the batch's.
            "tables_touched": touched,
            "rows_removed": sum(removed.values()),
            "vault_keys_destroyed": destroyed,
        }
        for r in requests
    ]
    _append(privacy_path(settings, AUDIT_TABLE), pa.Table.from_pylist(rows, AUDIT_SCHEMA))


def _append(path: Path, rows: pa.Table) -> None:
    if (path / "_delta_log").is_dir():
        write_deltalake(str(path), rows, mode="append")
    else:
        write_deltalake(str(path), rows, configuration=statistics_configuration(rows.schema.names))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
