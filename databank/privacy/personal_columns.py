"""Which columns of a stored table can name a person, by the naming rules every layer follows.

- `<x>_hmac`: an identifier, pseudonymised (bronze, silver, `identifier_hmac`, `member_id_hmac`);
- `node`, `src`, `dst`: an identifier as OneID addresses it, `<identifier_type>:<hmac>`;
- `one_id`, `<x>_one_id`: a consumer;
- `spell_id`: a key that begins with a consumer's one_id (a spell of `aipl_state_history`);
- `raw_text`, `details`: text that may quote any of those (a quarantined record with its identifiers
  hashed, a quality check's sample of unexpected values);
- the contracts' free-text fields (a phone typed into a search box is masked, but the field stays
  text a person wrote).

Erasure finds a person's rows through these columns, and Delta keeps no file statistics (min/max
in the transaction log) on them: the log outlives the files a vacuum removes, and must not hold an
erased identifier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from databank.contracts import all_contracts

HMAC_SUFFIX = "_hmac"
NODE_COLUMNS = frozenset({"node", "src", "dst"})
QUOTING_COLUMNS = frozenset({"raw_text", "details"})
# Keys made of a one_id and more: their rows go with the one_id column beside them, but a file's
# min/max of them would name the consumer.
ONE_ID_KEY_COLUMNS = frozenset({"spell_id"})


@dataclass(frozen=True)
class PersonalColumns:
    """A table's columns that can name a person, by what they hold."""

    hmacs: tuple[str, ...]
    nodes: tuple[str, ...]
    one_ids: tuple[str, ...]
    quoting: tuple[str, ...]

    @property
    def keyed(self) -> tuple[str, ...]:
        """Columns whose whole value is an identifier or a consumer id."""
        return (*self.hmacs, *self.nodes, *self.one_ids)

    def __bool__(self) -> bool:
        return bool(self.keyed or self.quoting)


def personal_columns(names: Iterable[str]) -> PersonalColumns:
    names = list(names)
    return PersonalColumns(
        hmacs=tuple(n for n in names if n.endswith(HMAC_SUFFIX)),
        nodes=tuple(n for n in names if n in NODE_COLUMNS),
        one_ids=tuple(n for n in names if n == "one_id" or n.endswith("_one_id")),
        quoting=tuple(n for n in names if n in QUOTING_COLUMNS),
    )


@cache
def free_text_names() -> frozenset[str]:
    """Every column a feed contract marks as free text."""
    return frozenset(
        column.name for contract in all_contracts().values() for column in contract.free_text_columns
    )


def statistics_columns(names: Iterable[str]) -> list[str]:
    """The columns whose min/max a Delta table may record: none that can name a person."""
    names = list(names)
    personal = personal_columns(names)
    excluded = {*personal.keyed, *personal.quoting, *ONE_ID_KEY_COLUMNS, *free_text_names()}
    return [n for n in names if n not in excluded]


def statistics_configuration(columns: Iterable[str]) -> dict[str, str]:
    """Properties of a new Delta table with `columns`: statistics only where `statistics_columns` allows."""
    kept = statistics_columns(columns)
    if not kept:
        return {"delta.dataSkippingNumIndexedCols": "0"}
    return {"delta.dataSkippingStatsColumns": ",".join(kept)}
