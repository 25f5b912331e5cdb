"""Text columns into typed columns, with the reason a record breaks its contract.

Reasons, checked in this order, the first that holds is the record's `_reason` (and the column it
concerns, `_reason_column`):

    undecodable, unexpected_header, the whole file is unusable (`databank.landing`): neither UTF-8
    unreadable_file,                nor GBK, a CSV header without the contract's required columns,
    unsupported_format              a file that cannot be opened, a format the feed does not take
    malformed_json / malformed_row  the line is not a record at all
    truncated_line                  the file's last line had no newline: cut off in transfer
    missing_required                a required field is absent or empty
    missing_identifier              none of the identifiers the contract needs one of is present
    bad_type                        a number, flag or date that does not parse
    bad_timestamp                   an event time that does not parse, or lies before
                                    `ingest.earliest_plausible_time` (a clock never set)
    future_timestamp                an event time after the delivery day (plus clock-skew tolerance)
    stale_timestamp                 an event time more than `late_days` before the delivery day
    unmapped_value                  a value the source mapping's value map does not know, where the
                                    mapping says to quarantine it
    unknown_enum                    a value outside the contract's list
    bad_format                      a value that does not match the column's pattern (a platform
                                    name in lower case)
    out_of_range                    a number outside the contract's min/max (negative quantities,
                                    coordinates off the globe)

Times are read as sources spell them: date and time joined by `T` or a space, seconds with or
without a fraction, then `Z`, an offset (`+08:00`, `+0800`, `+08`) or nothing. A time with an offset
is that instant whatever the feed's zone rule; one without is UTC in a `utc` feed, local business
time in a `local` feed, and unparseable in an `offset` feed, which promises an offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from databank.contracts import Column as ContractColumn
from databank.contracts import Contract, DeliveryWindow
from spark_jobs.transforms.mapping import UNMAPPED
from spark_jobs.transforms.parse import PARSE_ERROR, UNREAD_KEYS

REASON = "_reason"
REASON_COLUMN = "_reason_column"
RECORD_TEXT = "_record_text"
LAST_LINE_CUT = "_last_line_cut"
SPARK_TYPES = {"string": "string", "int": "bigint", "float": "double", "boolean": "boolean", "date": "date"}
INTEGER = r"^\s*[-+]?\d+\s*$"
DECIMAL = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
TIME_SPELLING = r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)\s*(Z|[+-]\d{2}(?::?\d{2})?)?$"


@dataclass(frozen=True)
class WindowOfEachDay:
    """The delivery window of each record's own delivery day (a range of days read in one pass)."""

    earliest: Column
    latest: Column

    @classmethod
    def of(cls, windows: Mapping[date, DeliveryWindow], day: Column) -> WindowOfEachDay:
        if len(windows) == 1:  # a night: every record has the one day's window
            (window,) = windows.values()
            return cls(F.lit(window.earliest), F.lit(window.latest))
        earliest = latest = None
        for delivered, window in sorted(windows.items()):
            on_day = day == F.lit(delivered)
            earliest = (earliest if earliest is not None else F).when(on_day, F.lit(window.earliest))
            latest = (latest if latest is not None else F).when(on_day, F.lit(window.latest))
        if earliest is None or latest is None:
            raise ValueError("a window of each day needs at least one day")
        return cls(earliest, latest)


def type_and_check(
    raw: DataFrame,
    contract: Contract,
    window: DeliveryWindow | WindowOfEachDay | None,
    tz: str,
    earliest_plausible: datetime | None,
) -> DataFrame:
    """Typed contract columns plus `_reason`/`_reason_column` (null for a valid record).

    `raw` holds every contract column as text, identifiers already pseudonymised; other columns pass
    through. Values are typed in one projection and checked in the next, so each parse runs once per
    value however many rules read it; the first failing rule is found once and named from it. Event
    times before `earliest_plausible` (UTC; None: no floor) are `bad_timestamp`.
    """
    passthrough = [c for c in raw.columns if c not in contract.column_names]
    typed_stage = raw.select(
        *(F.when(F.trim(F.col(n)) != "", F.col(n)).alias(n) for n in contract.column_names),
        *(_typed(F.col(c.name), c, contract, tz).alias(_typed_name(c.name)) for c in contract.columns),
        *passthrough,
    )
    checks = _checks(contract, window, earliest_plausible, UNMAPPED in raw.columns)
    first_failed = F.coalesce(*(F.when(hit, F.lit(i)) for i, (hit, _, _) in enumerate(checks)))
    checked = typed_stage.withColumn("_first_failed", first_failed)

    codes = F.array(*(F.lit(code) for _, code, _ in checks))
    columns = F.array(*(F.lit(column) for _, _, column in checks))
    parsed = F.col(PARSE_ERROR).isNull()
    # A rejected record that parsed keeps its fields as delivered (identifiers already hashed), unless
    # its line holds keys the contract does not know: then its fields are not all of it, and
    # the quarantine row keeps the masked line instead.
    fields_hold_it = parsed
    if UNREAD_KEYS in raw.columns:
        fields_hold_it = parsed & ~F.coalesce(F.size(UNREAD_KEYS) > 0, F.lit(False))
    reason = F.coalesce(F.col(PARSE_ERROR), F.element_at(codes, F.col("_first_failed") + 1))
    return checked.select(
        *(F.col(_typed_name(name)).alias(name) for name in contract.column_names),
        reason.alias(REASON),
        F.when(parsed, F.element_at(columns, F.col("_first_failed") + 1)).alias(REASON_COLUMN),
        F.when(fields_hold_it & reason.isNotNull(), F.to_json(F.struct(*contract.column_names))).alias(
            RECORD_TEXT
        ),
        *(c for c in passthrough if c not in (PARSE_ERROR, LAST_LINE_CUT, UNMAPPED)),
    )


def _typed_name(name: str) -> str:
    return f"_typed_{name}"


def _checks(
    contract: Contract,
    window: DeliveryWindow | WindowOfEachDay | None,
    earliest_plausible: datetime | None,
    mapped: bool,
) -> list[tuple[Column, str, str | None]]:
    """(condition, reason, column) of every rule, in the order of the module docstring."""
    text = {name: F.col(name) for name in contract.column_names}
    typed = {name: F.col(_typed_name(name)) for name in contract.column_names}
    checks: list[tuple[Column, str, str | None]] = [
        (F.coalesce(F.col(LAST_LINE_CUT), F.lit(False)), "truncated_line", None),
    ]
    checks += [(text[c].isNull(), "missing_required", c) for c in contract.required_columns]
    for group in contract.require_any:
        checks.append((F.coalesce(*(text[c] for c in group)).isNull(), "missing_identifier", None))
    for c in contract.columns:
        bad = text[c.name].isNotNull() & typed[c.name].isNull()
        checks.append((bad, "bad_timestamp" if c.type == "timestamp" else "bad_type", c.name))
    if contract.event_time:
        name = contract.event_time.column
        if earliest_plausible is not None:
            checks.append((typed[name] < F.lit(earliest_plausible), "bad_timestamp", name))
        if window:
            checks.append((typed[name] >= F.lit(window.latest), "future_timestamp", name))
            checks.append((typed[name] < F.lit(window.earliest), "stale_timestamp", name))
    for c in contract.columns:
        if mapped:
            checks.append(
                (F.coalesce(F.array_contains(UNMAPPED, c.name), F.lit(False)), "unmapped_value", c.name)
            )
        if c.enum:
            checks.append(
                (text[c.name].isNotNull() & ~text[c.name].isin(list(c.enum)), "unknown_enum", c.name)
            )
        if c.pattern:
            checks.append((text[c.name].isNotNull() & ~text[c.name].rlike(c.pattern), "bad_format", c.name))
        if c.min is not None:
            checks.append((typed[c.name] < F.lit(c.min), "out_of_range", c.name))
        if c.max is not None:
            checks.append((typed[c.name] > F.lit(c.max), "out_of_range", c.name))
    return checks


def _typed(text: Column, column: ContractColumn, contract: Contract, tz: str) -> Column:
    if column.type == "string":
        return text
    if column.type == "int":
        return F.when(text.rlike(INTEGER), F.trim(text).cast("bigint"))
    if column.type == "float":
        return F.when(text.rlike(DECIMAL), F.trim(text).cast("double"))
    if column.type == "boolean":
        lowered = F.lower(F.trim(text))
        return F.when(lowered.isin("true", "1"), True).when(lowered.isin("false", "0"), False)
    if column.type == "date":
        return F.try_to_timestamp(F.trim(text), F.lit("yyyy-MM-dd")).cast("date")
    zone = (
        contract.event_time.zone
        if contract.event_time and contract.event_time.column == column.name
        else "local"
    )
    return typed_time(text, zone, tz)


def typed_time(text: Column, zone_rule: str, tz: str) -> Column:
    """The UTC instant a time spells (see the module docstring), or null."""
    trimmed = F.trim(text)
    # A spelling the module accepts, joined by `T`, is one Spark's cast reads as it is (any of the
    # offsets, a fraction cut to microseconds, an impossible date null) and costs a third of parsing
    # it with a pattern; the spelling's own regex keeps out what the cast would leniently read.
    joined = F.regexp_replace(trimmed, TIME_SPELLING, "$1T$2$3")
    instant = F.when(trimmed.rlike(TIME_SPELLING), joined.cast("timestamp"))
    # Where the spelling holds, a zone is a trailing `Z` or a sign after the date.
    after_date = F.substring(joined, len("yyyy-MM-ddT") + 1, len("HH:mm:ss.fffffffff+hh:mm"))
    has_offset = joined.endswith("Z") | after_date.contains("+") | after_date.contains("-")
    if zone_rule == "local":
        without_offset = F.to_utc_timestamp(instant, tz)  # the cast read it as UTC, the session's zone
    elif zone_rule == "offset":
        without_offset = F.lit(None).cast("timestamp")
    else:
        without_offset = instant
    return F.when(has_offset, instant).otherwise(without_offset)
