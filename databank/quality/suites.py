"""Bronze and silver suites, derived from the feed contracts in `schemas/` (no column is listed here).

From each contract column: it exists with the Arrow type its declared type is stored as, is never
null when required, stays inside its enum and its min/max, and, for an identifier, holds nothing but
an HMAC-SHA256 hex digest (no raw phone or id reaches the lakehouse). From the contract: at least one
identifier of each `require_any` group is there, and the record id is unique within the day (a
warning in bronze, where the same record delivered twice is expected and left to standardise;
critical in silver, which holds each record once). Silver adds the local business date of the event
time, inside the delivery window ingestion enforces.

Volume, for event feeds: the day holds rows at all (a warning: a thin feed, a few POS lines a day,
may have none) and, once there is history enough, a count near the feed's baseline: the median of
the same weekday over the last weeks (a Monday is held against Mondays: weekly patterns are real),
or, while there are too few of those, of the trailing days. A median, not a mean: one bulk day (a
history load, a re-delivery) neither raises the bar for the nights after it nor hides a drop. A
drop below (1 - t) times the baseline is a warning by default (a holiday, a quiet season; make it
critical by severity), a day without any row where the baseline is full is critical (a lost feed),
and a rise above 1 / (1 - t) times it is a warning (growth, a campaign, or a delivery counted twice,
which the record id check names).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, timedelta

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation
from great_expectations.expectations.row_conditions import AndCondition
from great_expectations.expectations.row_conditions import Column as RowColumn

from databank.config import QualitySettings, Settings
from databank.contracts import (
    Column,
    ColumnType,
    Contract,
    DeliveryWindow,
    hashed_names,
    local_date_column,
)
from databank.quality.checks import WARNING, build_suite, check

# How bronze and silver store each contract type (Spark's types, as delta-rs writes them), in the
# names pandas gives Arrow-backed columns.
STORED_TYPES: Mapping[ColumnType, str] = {
    "string": "string[pyarrow]",
    "int": "int64[pyarrow]",
    "float": "double[pyarrow]",
    "boolean": "bool[pyarrow]",
    "date": "date32[day][pyarrow]",
    "timestamp": "timestamp[us, tz=UTC][pyarrow]",
}
HMAC_HEX = r"^[0-9a-f]{64}$"  # the hex HMAC-SHA256 pseudonymisation writes in place of an identifier


@dataclass(frozen=True)
class VolumeBand:
    """The rows a feed's day may hold: around the median of comparable earlier days."""

    baseline: float
    days: int  # earlier days the baseline is the median of
    tolerance: float
    basis: str = "trailing"  # 'weekday': the same weekday in earlier weeks; 'trailing': the days before

    @property
    def min_rows(self) -> int:
        return math.floor(self.baseline * (1 - self.tolerance))

    @property
    def max_rows(self) -> int:
        return math.ceil(self.baseline / (1 - self.tolerance))


def volume_band(day: date, earlier_rows: Mapping[date, int], quality: QualitySettings) -> VolumeBand | None:
    """The band of `day` from the row counts of earlier days (`baseline_days`); none while history is
    too short or too thin. The same weekday's days are the basis once there are
    `volume_min_history_days` of them (and `volume_baseline` is 'weekday'), else the trailing days."""
    same_weekday = {d: n for d, n in earlier_rows.items() if (day - d).days % 7 == 0}
    trailing = {d: n for d, n in earlier_rows.items() if (day - d).days <= quality.volume_trailing_days}
    weekly = quality.volume_baseline == "weekday" and len(same_weekday) >= quality.volume_min_history_days
    rows, basis = (same_weekday, "weekday") if weekly else (trailing, "trailing")
    if len(rows) < quality.volume_min_history_days:
        return None
    baseline = statistics.median(rows.values())
    if baseline < quality.volume_min_average_rows:
        return None
    return VolumeBand(baseline, len(rows), quality.volume_tolerance, basis)


def baseline_days(day: date, quality: QualitySettings) -> list[date]:
    """The earlier days a day's volume may be compared with: the trailing days and the same weekday
    of the weeks before."""
    trailing = {day - timedelta(days=n) for n in range(1, quality.volume_trailing_days + 1)}
    weekly = {day - timedelta(weeks=n) for n in range(1, quality.volume_weekday_weeks + 1)}
    return sorted(trailing | weekly)


def bronze_suite(
    contract: Contract, volume: VolumeBand | None, settings: Settings, kept_rows: int | None = None
) -> gx.ExpectationSuite:
    """`bronze.<feed>`: the day's typed rows as ingestion wrote them. `kept_rows`: the rows its ingest
    kept (bronze and quarantine), whose share in bronze must reach 1 - `quality.max_quarantined_share`."""
    expectations = [
        *_accepted_checks(kept_rows, settings.quality.max_quarantined_share),
        *_column_checks(contract),
        *_require_any_checks(contract),
        check(
            f"unique({contract.record_id})",
            gxe.ExpectColumnValuesToBeUnique,
            WARNING,
            column=contract.record_id,
        ),
        *_volume_checks(contract, volume),
    ]
    return build_suite(f"bronze.{contract.feed}", expectations, settings.quality.severity)


def silver_suite(
    contract: Contract, day: date, volume: VolumeBand | None, settings: Settings
) -> gx.ExpectationSuite:
    """`silver.<feed>`: the day's records, each once, with their local business date."""
    expectations = [
        *_column_checks(contract),
        *_require_any_checks(contract),
        check(f"unique({contract.record_id})", gxe.ExpectColumnValuesToBeUnique, column=contract.record_id),
        *_business_date_checks(contract, day, settings),
        *_volume_checks(contract, volume),
    ]
    return build_suite(f"silver.{contract.feed}", expectations, settings.quality.severity)


def stored_name(contract: Contract, column: str) -> str:
    """The name a contract column has in bronze and silver (identifiers are stored hashed)."""
    return hashed_names(contract).get(column, column)


def _column_checks(contract: Contract) -> list[Expectation]:
    checks = []
    for column in contract.columns:
        name = stored_name(contract, column.name)
        checks += [
            check(f"exists({name})", gxe.ExpectColumnToExist, column=name),
            check(f"type({name})", gxe.ExpectColumnTypeToBe, column=name, type_=STORED_TYPES[column.type]),
            *_value_checks(column, name),
        ]
    return checks


def _value_checks(column: Column, name: str) -> list[Expectation]:
    checks = []
    if column.required:
        checks.append(check(f"not_null({name})", gxe.ExpectColumnValuesToNotBeNull, column=name))
    if column.enum:
        checks.append(
            check(
                f"in_set({name})", gxe.ExpectColumnValuesToBeInSet, column=name, value_set=list(column.enum)
            )
        )
    if column.pattern:
        checks.append(
            check(f"matches({name})", gxe.ExpectColumnValuesToMatchRegex, column=name, regex=column.pattern)
        )
    if column.min is not None or column.max is not None:
        checks.append(
            check(
                f"between({name})",
                gxe.ExpectColumnValuesToBeBetween,
                column=name,
                min_value=column.min,
                max_value=column.max,
            )
        )
    if column.identifier:
        checks.append(
            check(f"pseudonymised({name})", gxe.ExpectColumnValuesToMatchRegex, column=name, regex=HMAC_HEX)
        )
    return checks


def _require_any_checks(contract: Contract) -> list[Expectation]:
    """At least one column of each group holds a value: among rows where all but the first are
    null, the first is not."""
    checks = []
    for group in contract.require_any:
        first, *others = [stored_name(contract, c) for c in group]
        others_null = [RowColumn(c).is_null() for c in others]
        checks.append(
            check(
                f"any_of({'|'.join([first, *others])})",
                gxe.ExpectColumnValuesToNotBeNull,
                column=first,
                row_condition=others_null[0]
                if len(others_null) == 1
                else AndCondition(conditions=others_null),
            )
        )
    return checks


def _business_date_checks(contract: Contract, day: date, settings: Settings) -> list[Expectation]:
    if contract.event_time is None:
        return []
    name = local_date_column(contract.event_time.column)
    earliest, latest = business_dates(day, settings)
    return [
        check(f"not_null({name})", gxe.ExpectColumnValuesToNotBeNull, column=name),
        check(
            f"in_delivery_window({name})",
            gxe.ExpectColumnValuesToBeBetween,
            column=name,
            min_value=earliest,
            max_value=latest,
        ),
    ]


def business_dates(day: date, settings: Settings) -> tuple[date, date]:
    """First and last local business date an event delivered on `day` may have: the local dates of
    ingestion's delivery window (its end is exclusive)."""
    ingest = settings.ingest
    window = DeliveryWindow.for_day(day, settings.tz, ingest.late_days, ingest.future_tolerance_minutes)
    # The window's instants are naive UTC.
    first = window.earliest.replace(tzinfo=UTC).astimezone(settings.tz)
    last = (window.latest - timedelta(microseconds=1)).replace(tzinfo=UTC).astimezone(settings.tz)
    return first.date(), last.date()


def _accepted_checks(kept_rows: int | None, max_quarantined_share: float) -> list[Expectation]:
    """Most of what a feed delivered reached bronze: a day mostly quarantined (a changed format, a
    wrong mapping, dates outside the plausible range) is loud, however many rows it held."""
    if not kept_rows:
        return []
    floor = math.ceil(kept_rows * (1 - max_quarantined_share))
    return [check("mostly_accepted", gxe.ExpectTableRowCountToBeBetween, WARNING, min_value=floor)]


def _volume_checks(contract: Contract, volume: VolumeBand | None) -> list[Expectation]:
    if contract.kind != "event":
        return []  # reference feeds deliver a snapshot or changes only when something changed
    # An empty day is shown, not fatal on its own: a thin feed (a few POS lines a day) may have none.
    checks = [check("rows_present", gxe.ExpectTableRowCountToBeBetween, WARNING, min_value=1)]
    if volume is not None:
        checks += [
            check("volume_not_vanished", gxe.ExpectTableRowCountToBeBetween, min_value=1),
            check(
                "volume_not_dropped", gxe.ExpectTableRowCountToBeBetween, WARNING, min_value=volume.min_rows
            ),
            check(
                "volume_not_surged", gxe.ExpectTableRowCountToBeBetween, WARNING, max_value=volume.max_rows
            ),
        ]
    return checks
