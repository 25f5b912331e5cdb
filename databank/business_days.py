"""Ranges of local business days, as the commands and jobs that take a first and last day read them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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


def batched_by_weight(
    days: list[date], weight: Callable[[date], int], most_days: int, most_weight: int
) -> Iterator[list[date]]:
    """`days` in consecutive runs of at most `most_days` days whose weights add up to at most
    `most_weight`; a day heavier than that alone is a run of its own."""
    run: list[date] = []
    held = 0
    for day in days:
        heavy = weight(day)
        if run and (len(run) == most_days or held + heavy > most_weight):
            yield run
            run, held = [], 0
        run.append(day)
        held += heavy
    if run:
        yield run
