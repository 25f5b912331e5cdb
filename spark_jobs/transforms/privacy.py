"""What ingestion owes erasure and the identifier vault, as pure DataFrame functions.

- `is_suppressed`: a record carrying an identifier of someone erased (its token is on the
  suppression list, `databank.privacy.erasure`) is not stored again, whatever file brings it.
- `vault_entries`: the identifiers of the vaulted types a record carries, with their normalised
  values, for `databank.privacy.vault.Vault.store`.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import Column
from pyspark.sql import functions as F

from databank.contracts import Contract
from spark_jobs.transforms.identifiers import NORMALISED_PREFIX


def is_suppressed(contract: Contract, tokens: Iterable[str]) -> Column:
    """Whether a pseudonymised record carries an identifier whose token is in `tokens`."""
    tokens = sorted(set(tokens))
    typed = [c for c in contract.identifier_columns if c.identifier.type]
    if not tokens or not typed:
        return F.lit(False)
    found = F.lit(False)
    for column in typed:
        token = F.sha2(F.concat(F.lit(f"{column.identifier.type}:"), F.col(column.name)), 256)
        found = found | F.coalesce(token.isin(tokens), F.lit(False))
    return found


def vault_entries(columns: list[str], contract: Contract) -> Column:
    """A record's (identifier_type, identifier_hmac, value) of its vaulted identifiers that hold a
    normalised value, as an array; `columns` are the pseudonymised records' columns."""
    vaulted = [c for c in contract.identifier_columns if NORMALISED_PREFIX + c.name in columns]
    entries = F.array(
        *(
            F.struct(
                F.lit(c.identifier.type).alias("identifier_type"),
                F.col(c.name).alias("identifier_hmac"),
                F.col(NORMALISED_PREFIX + c.name).alias("value"),
            )
            for c in vaulted
        )
    )
    if not vaulted:
        return entries.cast("array<struct<identifier_type:string,identifier_hmac:string,value:string>>")
    return F.filter(entries, lambda entry: entry["value"].isNotNull())
