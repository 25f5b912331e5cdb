"""A source mapping's value rules on one file's text columns (`databank.sources`).

Value maps, time spellings, scaled amounts and constants turn a source's values into the contract's
spelling, still as text: the contract's own typing and checks then judge them as they judge any
delivered value. A value a rule cannot translate is passed on as delivered, so the contract
quarantines it with its usual reason (`bad_timestamp`, `bad_type`, `unknown_enum`) and the
quarantine row shows what the source sent; a value map may instead quarantine an unknown value as
`unmapped_value` (listed per record in `_unmapped`). The file-level rules (format, encoding,
dialect, column names) are applied where the file is read (`spark_jobs.read_delivery`).

Derived columns are computed from the record: a quotient of two translated columns (`divide`) here,
after their scale; a record id (`hash_of: record`) once each record knows its file
(`with_record_ids`), since identical records of one file are numbered apart.
"""

from __future__ import annotations

import re

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from databank.sources import SourceMapping, TimeFormat, ValueMap
from spark_jobs.transforms.identifiers import hmac_sha256
from spark_jobs.transforms.parse import RAW

UNMAPPED = "_unmapped"
UTC_INSTANT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"
WALL_CLOCK = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"
DATE = "yyyy-MM-dd"
NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
# Pattern letters of a zone or offset, outside quoted literals: such a time is an instant already.
OFFSET_LETTERS = re.compile(r"[XxZOVz]")
QUOTED_LITERAL = re.compile(r"'[^']*'")
# A scaled amount is rounded where binary floating point leaves noise (1999 x 0.01 = 19.990000000000002).
SCALED_DIGITS = 9
# A record id hashes this label, the record's occurrence among identical records of its file and the
# record, apart from any identifier's hash under the same key.
RECORD_ID_LABEL = "record"
FIELD_SEPARATOR = "\x1f"


def translate(raw: DataFrame, mapping: SourceMapping) -> DataFrame:
    """`raw`'s contract columns in the contract's spelling, and `_unmapped` when a value map
    quarantines unknown values."""
    contract = mapping.contract
    translated: dict[str, Column] = {}
    ruled = {*mapping.values, *mapping.times, *mapping.scale, *mapping.constants}
    for name in (n for n in contract.column_names if n in ruled):
        value = F.col(name)
        if name in mapping.values:
            value = _mapped(value, mapping.values[name])
        if name in mapping.times:
            value = _time_text(value, mapping.times[name], contract.column(name).type)
        if name in mapping.scale:
            value = _scaled(value, mapping.scale[name])
        if name in mapping.constants:
            value = F.lit(mapping.constants[name])
        translated[name] = value
    for name, rule in mapping.derived.items():
        if rule.divide:
            dividend, divisor = (translated.get(operand, F.col(operand)) for operand in rule.divide)
            translated[name] = _quotient(dividend, divisor)
    strict = {name: rule for name, rule in mapping.values.items() if rule.unknown == "quarantine"}
    if strict:
        translated[UNMAPPED] = F.array_compact(
            F.array(*(F.when(_unknown(F.col(name), rule), F.lit(name)) for name, rule in strict.items()))
        )
    return raw.withColumns(translated) if translated else raw


def with_record_ids(frame: DataFrame, mapping: SourceMapping, key: bytes | None, file: str) -> DataFrame:
    """`frame` (records of `mapping`'s files, column `file` naming each one's file) with the
    mapping's `hash_of: record` columns: a keyed hash of the record and its occurrence among
    identical records of its file. Identical records are alike in every column, so numbering them
    1..k in any order gives each the same ids on every read."""
    hashed = [name for name, rule in mapping.derived.items() if rule.hash_of]
    if not hashed:
        return frame
    if key is None:
        raise ValueError(f"source {mapping.source} derives record ids: a pseudonymisation key is needed")
    alike = Window.partitionBy(file, RAW).orderBy(RAW)
    numbered = frame.withColumn("_occurrence", F.row_number().over(alike))
    occurrence = F.col("_occurrence").cast("string")
    message = F.concat_ws(FIELD_SEPARATOR, F.lit(RECORD_ID_LABEL), occurrence, F.col(RAW))
    record_id = F.when(F.col(RAW).isNotNull(), hmac_sha256(message, key))
    return numbered.withColumns(dict.fromkeys(hashed, record_id)).drop("_occurrence")


def _mapped(text: Column, rule: ValueMap) -> Column:
    found = F.try_element_at(_map_literal(rule), F.trim(text))
    otherwise = F.lit(rule.default) if rule.unknown == "default" else text
    return F.when(text.isNull(), text).when(found.isNotNull(), found).otherwise(otherwise)


def _unknown(text: Column, rule: ValueMap) -> Column:
    present = text.isNotNull() & (F.trim(text) != "")
    return present & F.try_element_at(_map_literal(rule), F.trim(text)).isNull()


def _map_literal(rule: ValueMap) -> Column:
    return F.create_map(*(F.lit(part) for pair in rule.map.items() for part in pair))


def _time_text(text: Column, rule: TimeFormat, column_type: str) -> Column:
    """The contract's spelling of a time the source spells its own way; the text as delivered when
    it does not parse by the rule."""
    trimmed = F.trim(text)
    if rule.epoch:
        number = F.when(trimmed.rlike(r"^[-+]?\d+$"), trimmed.try_cast("bigint"))
        instant = F.timestamp_seconds(number) if rule.epoch == "seconds" else F.timestamp_millis(number)
        spelled = F.date_format(instant, DATE if column_type == "date" else UTC_INSTANT)
        return F.coalesce(spelled, text)
    parsed = F.try_to_timestamp(trimmed, F.lit(rule.format))
    if column_type == "date":
        spelled = F.date_format(parsed, DATE)
    elif OFFSET_LETTERS.search(QUOTED_LITERAL.sub("", rule.format)):
        spelled = F.date_format(parsed, UTC_INSTANT)  # the session's zone is UTC
    elif rule.zone:
        spelled = F.date_format(F.to_utc_timestamp(parsed, rule.zone), UTC_INSTANT)
    else:  # a wall-clock time: the contract's zone rule reads it
        spelled = F.date_format(parsed, WALL_CLOCK)
    return F.coalesce(spelled, text)


def _scaled(text: Column, factor: float) -> Column:
    scaled = F.round(F.try_multiply(_number(text), F.lit(factor)), SCALED_DIGITS).cast("string")
    return F.coalesce(scaled, text)


def _quotient(dividend: Column, divisor: Column) -> Column:
    """dividend / divisor as text; where there is no quotient (a divisor of zero or no number), the
    two as sent, `a/b`, which is no number: the contract quarantines it, never reads it as 0."""
    denominator = _number(divisor)
    quotient = F.try_divide(_number(dividend), F.when(denominator != 0, denominator))
    spelled = F.round(quotient, SCALED_DIGITS).cast("string")
    unreadable = F.concat(dividend, F.lit("/"), divisor)
    return F.when(dividend.isNull() | divisor.isNull(), F.lit(None).cast("string")).otherwise(
        F.coalesce(spelled, unreadable)
    )


def _number(text: Column) -> Column:
    return F.when(text.rlike(NUMBER), F.trim(text).try_cast("double"))
