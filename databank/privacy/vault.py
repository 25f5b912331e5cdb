"""The identifier vault: the normalised raw identifiers activation may need again, sealed, and
erasure able to destroy them for good.

Everywhere else an identifier is only its HMAC (`spark_jobs/transforms/identifiers.py`), addressed
as the node `"<identifier_type>:<identifier_hmac>"`, and its raw value cannot be recovered: a brand
could not send a consenting member's phone to an ad platform. The vault keeps it, envelope-encrypted:

- every node gets its own data key (32 random bytes) that seals its normalised value with
  AES-256-GCM; the data key is stored wrapped by the master key with AES-256-GCM. Both bind the node
  as associated data, so a key or a value copied onto another node opens nothing.
- the master key lives outside the data (`databank.keys`: `privacy.vault_key` or the vault key file).
- erasure (`Vault.shred`) deletes the node's wrapped key and sealed value, then vacuums both tables
  with zero retention, their Delta logs included, so the files that held them are gone. A copy that
  escaped, say a backup of the sealed values, stays unreadable: its key exists nowhere any more
  (crypto-shredding).

Two Delta tables, written with delta-rs and partitioned by `identifier_type`:

    <vault_keys_dir>            node, identifier_type, wrapped_key (nonce + ciphertext), created_at
    <vault_dir>/identifiers     node, identifier_type, sealed_value (nonce + ciphertext), created_at

Both default under `<data_dir>/vault`, beside the lakehouse and never in it, so neither the analyst
warehouse nor gold ever holds them. The key table has a setting of its own so that a brand can keep
it on other storage than the data and out of the data's backups: a restored backup then brings back
sealed values only, and those whose keys erasure destroyed stay sealed.

Only the activation and erasure code paths should open a Vault.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from deltalake import DeltaTable, write_deltalake

from databank.config import Settings
from databank.keys import vault_master_key

NONCE_BYTES = 12
DATA_KEY_BYTES = 32
NODES_PER_DELETE = 5000  # bounds the length of one delete's predicate
TABLE_CONFIGURATION = {
    # No column statistics: over hashes a file's min and max span nearly every node, so they would
    # skip no file, and they would copy nodes into the log besides.
    "delta.dataSkippingNumIndexedCols": "0",
    # Old commits name erased nodes (a delete's predicate): the log keeps none once checkpointed.
    # Time travel over a vault is exactly what erasure must defeat.
    "delta.logRetentionDuration": "interval 0 seconds",
}
CREATED_AT = pa.timestamp("us", tz="UTC")
STORE_INPUT = pa.schema(
    [("identifier_type", pa.string()), ("identifier_hmac", pa.string()), ("value", pa.string())]
)


class WrongMasterKeyError(RuntimeError):
    """The vault's data keys were wrapped under another master key than the one configured."""


def node(identifier_type: str, identifier_hmac: str) -> str:
    """How the lakehouse addresses an identifier: `<identifier_type>:<identifier_hmac>`."""
    return f"{identifier_type}:{identifier_hmac}"


def seal(key: bytes, node: str, plaintext: bytes) -> bytes:
    """A random nonce followed by the AES-GCM ciphertext of `plaintext` under `key`, bound to `node`."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, node.encode())


def unseal(key: bytes, node: str, sealed: bytes) -> bytes:
    """The plaintext of `seal`; `InvalidTag` under another key or for another node."""
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], node.encode())


class Vault:
    """The sealed identifiers and their wrapped keys, under one master key."""

    def __init__(
        self,
        master_key: bytes,
        keys_table: Path,
        values_table: Path,
        identifier_types: Iterable[str],
        vacuum_on_erasure: bool = True,
    ) -> None:
        self._master_key = master_key
        self.keys_table = keys_table
        self.values_table = values_table
        self.identifier_types = tuple(identifier_types)
        self.vacuum_on_erasure = vacuum_on_erasure

    @classmethod
    def open(cls, settings: Settings) -> Vault:
        """The vault the settings name; MissingKeyError when no master key is configured."""
        for table in (settings.vault_keys, settings.vault_identifiers):
            if table.is_relative_to(settings.lakehouse):
                raise ValueError(
                    f"The vault table {table} lies inside the lakehouse {settings.lakehouse}, where every "
                    "reader of the lakehouse would find it: set privacy.vault_dir and "
                    "privacy.vault_keys_dir outside it."
                )
        return cls(
            vault_master_key(settings),
            settings.vault_keys,
            settings.vault_identifiers,
            settings.privacy.vault_identifier_types,
            settings.privacy.erasure_vacuum,
        )

    def store(self, identifiers: pa.Table) -> int:
        """Seal the identifiers whose node is not held yet; return how many were added.

        `identifiers` has the columns identifier_type, identifier_hmac and value (normalised raw).
        Rows of types outside `privacy.vault_identifier_types`, or with a null, are not vaulted.
        """
        candidates = _values_by_node(identifiers, self.identifier_types)
        for held in _held(self.keys_table, candidates):
            del candidates[held]
        if not candidates:
            return 0
        nodes = list(candidates)
        data_keys = [os.urandom(DATA_KEY_BYTES) for _ in nodes]
        wrapped = [seal(self._master_key, n, key) for n, key in zip(nodes, data_keys, strict=True)]
        sealed = [seal(key, n, candidates[n].encode()) for n, key in zip(nodes, data_keys, strict=True)]
        # Values before keys: a store that fails in between leaves a value without a key (unreadable,
        # sealed again by the next store), never a key that is held yet opens no value.
        _append(self.values_table, nodes, "sealed_value", sealed)
        _append(self.keys_table, nodes, "wrapped_key", wrapped)
        return len(nodes)

    def reveal(self, nodes: Iterable[str]) -> dict[str, str]:
        """The normalised raw value of each node held; nodes not held are absent from the result."""
        wrapped_keys = _rows(self.keys_table, "wrapped_key", set(nodes))
        data_keys = {n: self._unwrap(n, wrapped) for n, wrapped in wrapped_keys}
        revealed = {}
        for n, sealed in _rows(self.values_table, "sealed_value", set(data_keys)):
            try:
                revealed[n] = unseal(data_keys[n], n, sealed).decode()
            except InvalidTag:
                # Sealed under a key the vault does not hold: by a store that failed before writing
                # its key, or by a second store of the node at the same moment; another value opens.
                continue
        return revealed

    def shred(self, nodes: Iterable[str]) -> int:
        """Destroy the nodes' keys and sealed values; return how many keys were destroyed."""
        wanted = set(nodes)
        # Keys first: once they are gone, whatever else survives is unreadable.
        destroyed = self._delete(self.keys_table, wanted)
        self._delete(self.values_table, wanted)
        return destroyed

    def nodes(self) -> set[str]:
        """Every node held (a key stored), for tests and erasure audits."""
        if not DeltaTable.is_deltatable(str(self.keys_table)):
            return set()
        held = DeltaTable(self.keys_table).to_pyarrow_table(columns=["node"]).column("node")
        return set(held.to_pylist())

    def _unwrap(self, node: str, wrapped: bytes) -> bytes:
        try:
            return unseal(self._master_key, node, wrapped)
        except InvalidTag as error:
            raise WrongMasterKeyError(
                f"A data key in {self.keys_table} does not open with the configured master key: the vault "
                "was written under another one (privacy.vault_key or the vault key file)."
            ) from error

    def _delete(self, table: Path, nodes: set[str]) -> int:
        deleted = _delete_rows(table, nodes)
        if deleted and self.vacuum_on_erasure:
            _vacuum(table)
        return deleted


def _values_by_node(identifiers: pa.Table, identifier_types: tuple[str, ...]) -> dict[str, str]:
    # Spark's toArrow hands over large_string columns: one type for the compute kernels below.
    vaulted = identifiers.select(STORE_INPUT.names).cast(STORE_INPUT)
    vaulted = vaulted.filter(
        pc.field("identifier_type").isin(list(identifier_types))
        & pc.field("identifier_hmac").is_valid()
        & pc.field("value").is_valid()
    )
    nodes = pc.binary_join_element_wise(vaulted["identifier_type"], vaulted["identifier_hmac"], ":")
    # One node, one normalised value (the HMAC is of it): a repeated node is the same identifier.
    return dict(zip(nodes.to_pylist(), vaulted["value"].to_pylist(), strict=True))


def _held(table: Path, nodes: Iterable[str]) -> set[str]:
    return set(_read(table, ["node"], set(nodes))["node"].to_pylist())


def _rows(table: Path, column: str, nodes: set[str]) -> list[tuple[str, bytes]]:
    found = _read(table, ["node", column], nodes)
    return list(zip(found["node"].to_pylist(), found[column].to_pylist(), strict=True))


def _read(table: Path, columns: list[str], nodes: set[str]) -> pa.Table:
    """The rows of `table` whose node is among `nodes`, from their partitions only."""
    if not nodes or not DeltaTable.is_deltatable(str(table)):
        return pa.table({name: pa.array([], pa.string()) for name in columns})
    # Partitions pruned by type; nodes matched batch by batch, not pushed down: pyarrow's statistics
    # pruning fails on the string views a Delta rewrite (erasure's delete) leaves in the files.
    of_types = pc.field("identifier_type").isin(list(_by_type(nodes)))
    wanted = pa.array(sorted(nodes), pa.string())
    batches = DeltaTable(table).to_pyarrow_dataset().to_batches(columns=columns, filter=of_types)
    found = [batch.filter(pc.is_in(batch["node"].cast(pa.string()), value_set=wanted)) for batch in batches]
    if not found:
        return pa.table({name: pa.array([], pa.string()) for name in columns})
    return pa.Table.from_batches(found)


def _append(table: Path, nodes: list[str], column: str, blobs: list[bytes]) -> None:
    rows = pa.table(
        {
            "node": pa.array(nodes, pa.string()),
            "identifier_type": pa.array([n.partition(":")[0] for n in nodes], pa.string()),
            column: pa.array(blobs, pa.binary()),
            "created_at": pa.array([datetime.now(UTC)] * len(nodes), CREATED_AT),
        }
    )
    table.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_deltalake(
        table, rows, mode="append", partition_by=["identifier_type"], configuration=TABLE_CONFIGURATION
    )


def _delete_rows(table: Path, nodes: set[str]) -> int:
    # Only nodes actually held: a delete's predicate is written to the log, and one naming nodes the
    # vault never held would leave them there for nothing.
    held = _held(table, nodes)
    if not held:
        return 0
    delta = DeltaTable(table)
    deleted = 0
    for identifier_type, typed in _by_type(held).items():
        for start in range(0, len(typed), NODES_PER_DELETE):
            chunk = ", ".join(_literal(n) for n in typed[start : start + NODES_PER_DELETE])
            predicate = f"identifier_type = {_literal(identifier_type)} AND node IN ({chunk})"
            deleted += delta.delete(predicate)["num_deleted_rows"]
    return deleted


def _vacuum(table: Path) -> None:
    """Remove every file no longer in the table, then every commit before a fresh checkpoint."""
    delta = DeltaTable(table)
    delta.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False, full=True)
    delta.create_checkpoint()
    delta.cleanup_metadata()


def _by_type(nodes: Iterable[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for n in sorted(nodes):
        grouped[n.partition(":")[0]].append(n)
    return grouped


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
