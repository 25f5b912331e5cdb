"""Ranges of local business days, as the commands and jobs that take a first and last day read them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta


def days_between(first: date, last: date) -> list[date]:
    """The days from `first` to `last`, both included (none when `last` is before `first`)."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def distinct_days(days: Iterable[date]) -> list[date]:
    """`days` in order, each once, as plain dates (Airflow hands over pendulum's, which Spark's
    DataFrame constructor refuses)."""
    return sorted({date(day.year, day.month, day.day) for day in days})


def batched(days: list[date], size: int) -> Iterator[list[date]]:
    """`days` in consecutive runs of at most `size` days."""
    for start in range(0, len(days), size):
        yield days[start : start + size]
