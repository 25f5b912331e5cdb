"""`databank audience sync NAME --destination D`: send a destination what changed in an audience since
the last sync, adds and removes, and remember what it now holds.

- Who is sent: the audience's consumers who consent to the destination's purpose, which must be the
  audience's own, by the identifiers the destination takes (`databank.reach.members`), their values
  read from the identifier vault and put in the destination's forms (`databank.reach.forms`).
- What is remembered, per audience and destination (`<reach dir>/state/<audience>/<destination>/`):
  `state.parquet`, the identifiers the destination holds from us (one_id and vault node: HMACs
  only), and `delivered.jsonl`, the keys of the batches of an unfinished sync it already took.
- A sync compares the audience with the state: identifiers new to it are added, identifiers gone
  (the consumer left the audience, withdrew consent or was erased) are removed. Batches are cut in a
  stable order and named by their content, so a sync run again after a failure skips the batches
  the destination took and sends the rest; once all are taken the state is replaced. A sync run again
  for the same night finds nothing changed and sends nothing.
- Erasure destroys a person's vault keys, yet a destination holding them must still be told to drop
  them: before it shreds, erasure seals the values of the person's synced identifiers in the pending
  removals vault (`hold_for_removal`), the next sync of each audience sends their removes, and the
  pending values are shredded once no state holds them any more.
- Refused, with nothing sent, when the audience is not empty yet has fewer consenting consumers than
  `audiences.min_export_size`: no small group can be picked out.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import get_args

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from databank.audiences.activation import open_warehouse
from databank.audiences.checks import check_against_warehouse, resolve_run_date
from databank.audiences.compiler import compile_audience
from databank.audiences.definition import AudienceError, load_audience, saved_audiences
from databank.config import Settings
from databank.contracts import IdentifierType
from databank.keys import vault_master_key
from databank.privacy.vault import Vault
from databank.reach.destinations import Batch, Deliverer, open_deliverer
from databank.reach.forms import applies, identifier_types, render
from databank.reach.members import MEMBER_COLUMNS, consenting_members

STATE_FILE = "state.parquet"
JOURNAL_FILE = "delivered.jsonl"
SYNC_LOG = "syncs.log.jsonl"
PENDING_KEYS = "pending_removal_keys"
PENDING_VALUES = "pending_removals"
STATE_SCHEMA = pa.schema([(column, pa.string()) for column in MEMBER_COLUMNS])


@dataclass(frozen=True)
class SyncReport:
    """What one sync sent, counted per form; no identifier."""

    audience: str
    destination: str
    run_date: date
    consumers: int
    added: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    batches_sent: int = 0
    batches_already_taken: int = 0
    not_in_vault: int = 0
    delivered_to: tuple[str, ...] = ()  # files written or URLs posted to, by this try

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def sync_audience(
    settings: Settings,
    name: str,
    destination: str,
    run_date: date | None = None,
) -> SyncReport:
    """Send `destination` the changes of the audience `name` since its last sync (see the module)."""
    config = settings.reach.destinations.get(destination)
    if config is None:
        known = ", ".join(sorted(settings.reach.destinations)) or "none configured"
        raise AudienceError(f"no destination {destination!r} in [reach.destinations] (known: {known})")
    audience = load_audience(settings.audiences.folder, name)
    purpose = audience.definition.purpose
    if purpose != config.purpose:
        raise AudienceError(
            f"audience {name!r} is for {purpose}, destination {destination!r} for {config.purpose}: "
            "consent to one purpose does not cover the other, nothing was sent"
        )
    run_date, current = _audience_on(settings, audience, config, run_date)
    consumers = len(pc.unique(current["one_id"]))
    if 0 < consumers < settings.audiences.min_export_size:
        raise AudienceError(
            f"audience {name!r} has {consumers:,} consenting consumers on {run_date}, fewer than the "
            f"minimum of {settings.audiences.min_export_size:,}: nothing was sent to {destination!r}"
        )
    folder = state_folder(settings, name, destination)
    held = read_state(folder)
    adds = _nodes_not_in(current, held)
    removes = _nodes_not_in(held, current)
    values = _reveal(settings, set(adds["node"].to_pylist()) | set(removes["node"].to_pylist()))
    batches = [
        *_batches(name, destination, run_date, "add", adds, values, config),
        *_batches(name, destination, run_date, "remove", removes, values, config),
    ]
    deliverer = open_deliverer(destination, config, reach_dir(settings) / "files" / destination)
    delivered_to = _deliver(folder, batches, deliverer)
    # An identifier the vault could not reveal was not sent: it is tried again by the next sync.
    unsent = set(adds["node"].to_pylist()) - set(values)
    now_held = current.filter(
        pc.invert(pc.is_in(current["node"], value_set=pa.array(sorted(unsent), pa.string())))
    )
    _write_state(folder, now_held.append_column("run_date", pa.array([run_date.isoformat()] * len(now_held))))
    (folder / JOURNAL_FILE).unlink(missing_ok=True)
    _release_pending(settings)
    report = SyncReport(
        audience=name,
        destination=destination,
        run_date=run_date,
        consumers=consumers,
        added=_counts(batches, "add"),
        removed=_counts(batches, "remove"),
        batches_sent=len(delivered_to),
        batches_already_taken=len(batches) - len(delivered_to),
        not_in_vault=len(adds) + len(removes) - sum(node in values for node in _nodes(adds, removes)),
        delivered_to=tuple(sorted(set(delivered_to))),
    )
    _log(settings, report)
    return report


def _audience_on(settings: Settings, audience, config, run_date: date | None) -> tuple[date, pa.Table]:
    """The run day (default: the warehouse's latest) and the audience's consenting members on it."""
    consent_flag = getattr(settings.audiences.consent_flags, audience.definition.purpose)
    resolve = saved_audiences(settings.audiences.folder)
    with open_warehouse(settings.warehouse) as con:
        run_date = resolve_run_date(con, run_date)
        check_against_warehouse(con, audience.definition, run_date, resolve)
        compiled = compile_audience(audience.definition, run_date, consent_flag, resolve)
        return run_date, consenting_members(con, compiled, identifier_types(config.forms))


def _deliver(folder: Path, batches: list[Batch], deliverer: Deliverer) -> list[str]:
    """Deliver the batches the destination has not taken yet, journaling each; where they went."""
    taken = _journal(folder)
    delivered_to = []
    for batch in batches:
        if batch.key in taken:
            continue
        where = deliverer.deliver(batch)
        _record_delivery(folder, batch, where)
        delivered_to.append(where)
    return delivered_to


def reach_dir(settings: Settings) -> Path:
    return settings.reach.sync_dir or settings.data_dir / "reach"


def state_folder(settings: Settings, audience: str, destination: str) -> Path:
    return reach_dir(settings) / "state" / audience / destination


def read_state(folder: Path) -> pa.Table:
    """The identifiers the destination holds from the audience, as the last finished sync left them."""
    path = folder / STATE_FILE
    if not path.is_file():
        return STATE_SCHEMA.empty_table()
    return pq.read_table(path).select(STATE_SCHEMA.names).cast(STATE_SCHEMA)


def held_nodes(settings: Settings) -> set[str]:
    """Every node some destination holds from some audience."""
    nodes: set[str] = set()
    for path in (reach_dir(settings) / "state").glob(f"*/*/{STATE_FILE}"):
        nodes |= set(pq.read_table(path, columns=["node"])["node"].to_pylist())
    return nodes


def hold_for_removal(settings: Settings, nodes: set[str] | frozenset[str]) -> int:
    """Seal, in the pending removals vault, the values of `nodes` a destination holds, so that the next
    syncs can remove them after erasure shreds them from the vault; return how many were held."""
    synced = set(nodes) & held_nodes(settings)
    if not synced or not (settings.vault_keys / "_delta_log").is_dir():
        return 0
    values = Vault.open(settings).reveal(synced)
    split = [node.split(":", 1) for node in values]
    table = pa.table(
        {
            "identifier_type": pa.array([kind for kind, _ in split], pa.string()),
            "identifier_hmac": pa.array([hmac for _, hmac in split], pa.string()),
            "value": pa.array(list(values.values()), pa.string()),
        }
    )
    pending_removals(settings).store(table)
    return len(values)


def pending_removals(settings: Settings) -> Vault:
    """Values of erased identifiers that destinations still hold, until their removes are sent."""
    return Vault(
        vault_master_key(settings),
        settings.vault / PENDING_KEYS,
        settings.vault / PENDING_VALUES,
        get_args(IdentifierType),
        settings.privacy.erasure_vacuum,
    )


def _nodes_not_in(table: pa.Table, other: pa.Table) -> pa.Table:
    return table.filter(pc.invert(pc.is_in(table["node"], value_set=other["node"])))


def _nodes(*tables: pa.Table) -> list[str]:
    return [node for table in tables for node in table["node"].to_pylist()]


def _reveal(settings: Settings, nodes: set[str]) -> dict[str, str]:
    if not nodes or not (settings.vault_keys / "_delta_log").is_dir():
        return {}
    values = Vault.open(settings).reveal(nodes)
    missing = nodes - set(values)
    if missing and (settings.vault / PENDING_KEYS / "_delta_log").is_dir():
        values |= pending_removals(settings).reveal(missing)
    return values


def _batches(audience, destination, run_date, operation, members: pa.Table, values, config) -> list[Batch]:
    """The batches of one operation: per form, the values in order, cut into `batch_size`."""
    by_form: dict[str, set[str]] = defaultdict(set)
    for row in members.to_pylist():
        value = values.get(row["node"])
        if value is None:
            continue
        for form in config.forms:
            if applies(form, row["identifier_type"], row["device_kind"]):
                by_form[form].add(render(form, value))
    batches = []
    for form in sorted(by_form):
        ordered = sorted(by_form[form])
        for number, start in enumerate(range(0, len(ordered), config.batch_size), start=1):
            chunk = tuple(ordered[start : start + config.batch_size])
            batches.append(Batch(audience, destination, run_date, operation, form, number, chunk))
    return batches


def _counts(batches: list[Batch], operation: str) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for batch in batches:
        if batch.operation == operation:
            counts[batch.form] += len(batch.values)
    return dict(counts)


def _journal(folder: Path) -> set[str]:
    path = folder / JOURNAL_FILE
    if not path.is_file():
        return set()
    return {json.loads(line)["key"] for line in path.read_text(encoding="utf-8").splitlines() if line}


def _record_delivery(folder: Path, batch: Batch, where: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    entry = {
        "key": batch.key,
        "operation": batch.operation,
        "form": batch.form,
        "batch": batch.number,
        "count": len(batch.values),
        "to": where,
        "at": datetime.now(UTC).isoformat(),
    }
    with (folder / JOURNAL_FILE).open("a", encoding="utf-8") as journal:
        journal.write(json.dumps(entry) + "\n")


def _write_state(folder: Path, state: pa.Table) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{STATE_FILE}.partial"
    pq.write_table(state, partial)
    partial.replace(folder / STATE_FILE)


def _release_pending(settings: Settings) -> None:
    """Shred the pending removals no destination holds any more: their removes have all been sent."""
    if not (settings.vault / PENDING_KEYS / "_delta_log").is_dir():
        return
    pending = pending_removals(settings)
    done = pending.nodes() - held_nodes(settings)
    if done:
        pending.shred(done)


def _log(settings: Settings, report: SyncReport) -> None:
    path = reach_dir(settings) / SYNC_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "at": datetime.now(UTC).isoformat(),
        "audience": report.audience,
        "destination": report.destination,
        "run_date": report.run_date.isoformat(),
        "consumers": report.consumers,
        "added": report.added,
        "removed": report.removed,
        "batches_sent": report.batches_sent,
        "batches_already_taken": report.batches_already_taken,
        "not_in_vault": report.not_in_vault,
        "delivered_to": report.delivered_to,
    }
    with path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
