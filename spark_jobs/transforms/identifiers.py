"""Pseudonymisation at the edge: identifiers normalised, then kept only as keyed hashes.

Normalisation per identifier type (so that two spellings of one identifier hash alike):
    phone          digits only; a leading 86 or 0086 country code dropped; a CN mobile is 1[3-9] + 9 digits
    member_id      upper case, no white space (cards are keyed in by hand)
    account_id     trimmed, case kept (platform ids such as WeChat openids are case-sensitive), and
                   prefixed with its platform so equal strings on two platforms stay apart
    device_id      lower case, trimmed (OAID and IDFA are case-insensitive hex)
    cookie_id      lower case, trimmed
    payment_token  trimmed

Each identifier column `x` is replaced, in place, by the HMAC-SHA256 (hex) of its normalised value,
and gains `x_status`: `ok`, `junk` (a known placeholder: never links) or `invalid` (does not look
like its type: kept for traceability, never links). The raw value is gone from then on; bronze
names the column `x_hmac`.

HMAC-SHA256 is built from Spark's own sha2 (RFC 2104: H((K ^ opad) || H((K ^ ipad) || m))), so it
runs in the JVM on every executor with no Python UDF and the key never leaves the job's plan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from databank.contracts import Contract

BLOCK_SIZE = 64
CN_MOBILE = r"^1[3-9][0-9]{9}$"
VALID_PATTERNS = {
    "phone": CN_MOBILE,
    "member_id": r"^[A-Z0-9]{4,32}$",
    "account_id": r"^[a-z_]+:\S{3,128}$",
    "device_id": r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    "cookie_id": r"^[0-9a-z\-_]{8,64}$",
    "payment_token": r"^\S{8,128}$",
}


def hmac_sha256(message: Column, key: bytes) -> Column:
    """Hex HMAC-SHA256 of a string column under `key`."""
    if len(key) > BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK_SIZE, b"\0")
    inner_pad = bytes(b ^ 0x36 for b in key)
    outer_pad = bytes(b ^ 0x5C for b in key)
    inner = F.unhex(F.sha2(F.concat(F.lit(inner_pad), F.encode(message, "UTF-8")), 256))
    return F.sha2(F.concat(F.lit(outer_pad), inner), 256)


def normalised(value: Column, identifier_type: str, namespace: Column | None = None) -> Column:
    """The canonical spelling of an identifier of a known type."""
    if identifier_type == "phone":
        digits = F.regexp_replace(value, r"[^0-9]", "")
        return F.regexp_replace(digits, r"^(0086|86)(?=1[0-9]{10}$)", "")
    if identifier_type == "member_id":
        return F.upper(F.regexp_replace(value, r"\s", ""))
    if identifier_type == "account_id":
        return F.when(value.isNotNull(), F.concat_ws(":", F.lower(F.trim(namespace)), F.trim(value)))
    if identifier_type in ("device_id", "cookie_id"):
        return F.lower(F.trim(value))
    return F.trim(value)


def status(value: Column, identifier_type: str, junk: Iterable[str]) -> Column:
    junk = list(junk)
    is_junk = value.isin(junk) if junk else F.lit(False)
    if identifier_type == "phone":
        is_junk = is_junk | value.rlike(r"^([0-9])\1{10}$")
    return (
        F.when(value.isNull(), None)
        .when(is_junk, "junk")
        .when(value.rlike(VALID_PATTERNS[identifier_type]), "ok")
        .otherwise("invalid")
    )


# Identifier-like runs in text that is no identifier column (a line that could not be parsed, a
# free-text field): phone numbers in any spelling, and runs of id characters holding a digit (6+) or
# long enough to be an id on their own (20+).
PHONE_LIKE = r"\+?[0-9][0-9 \-]{6,}[0-9]"
ID_LIKE = r"(?<![0-9A-Za-z_+\-])(?=[0-9A-Za-z_+\-]*[0-9])[0-9A-Za-z_+\-]{6,}+|[0-9A-Za-z_+\-]{20,}"
REDACTED = "<redacted>"


def redacted(text: Column) -> Column:
    """`text` with every identifier-like run masked."""
    return F.regexp_replace(F.regexp_replace(text, PHONE_LIKE, REDACTED), ID_LIKE, REDACTED)


NORMALISED_PREFIX = "_normalised_"


def pseudonymise(
    records: DataFrame,
    contract: Contract,
    key: bytes,
    junk: dict[str, Iterable[str]],
    vaulted: Iterable[str] = (),
) -> DataFrame:
    """Hash each identifier column in place and add `<column>_status`; mask identifier-like runs in
    free-text columns (a phone typed into a search box).

    Identifiers of the `vaulted` types also keep their normalised value, when valid, in
    `_normalised_<column>`, for the identifier vault; no writer of a table selects it.
    """
    vaulted = set(vaulted)
    out = records
    for column in contract.free_text_columns:
        out = out.withColumn(column.name, redacted(F.col(column.name)))
    for column in contract.identifier_columns:
        spec = column.identifier
        raw = F.when(F.trim(F.col(column.name)) != "", F.col(column.name))
        namespace = F.col(spec.namespace_column) if spec.namespace_column else None
        if spec.type:
            value = normalised(raw, spec.type, namespace)
            state = status(value, spec.type, junk.get(spec.type, ()))
            if spec.type in vaulted:
                out = out.withColumn(NORMALISED_PREFIX + column.name, F.when(state == "ok", value))
        else:  # the type is named row by row (erasure requests)
            kinds = contract.column(spec.type_column).enum
            value, state = _typed_by_row(raw, F.col(spec.type_column), kinds, namespace, junk)
        out = out.withColumn(f"{column.name}_status", state).withColumn(column.name, hmac_sha256(value, key))
    return out


def _typed_by_row(
    raw: Column, kind: Column, kinds: Iterable[str], namespace: Column | None, junk: dict[str, Iterable[str]]
) -> tuple[Column, Column]:
    """Normalised value and status when a column names each row's identifier type."""
    value = state = None
    for identifier_type in kinds:
        one_value = normalised(raw, identifier_type, namespace)
        one_state = status(one_value, identifier_type, junk.get(identifier_type, ()))
        is_type = kind == identifier_type
        value = F.when(is_type, one_value) if value is None else value.when(is_type, one_value)
        state = F.when(is_type, one_state) if state is None else state.when(is_type, one_state)
    return value, state
