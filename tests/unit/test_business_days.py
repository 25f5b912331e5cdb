"""Ranges of business days as commands and jobs cut them."""

from __future__ import annotations

from datetime import date, timedelta

from databank.business_days import batched_by_weight, days_between

DAYS = days_between(date(2026, 3, 1), date(2026, 3, 10))


def test_a_batch_closes_at_its_most_days_or_before_the_day_that_would_overweigh_it():
    weights = dict(zip(DAYS, [1, 1, 1, 5, 1, 1, 1, 1, 1, 1], strict=True))

    batches = list(batched_by_weight(DAYS, weights.__getitem__, most_days=4, most_weight=4))

    assert [[weights[d] for d in batch] for batch in batches] == [[1, 1, 1], [5], [1, 1, 1, 1], [1, 1]]
    assert [day for batch in batches for day in batch] == DAYS  # every day once, in order


def test_days_that_weigh_nothing_are_cut_by_their_count_alone():
    batches = list(batched_by_weight(DAYS, lambda day: 0, most_days=3, most_weight=1))

    assert [len(batch) for batch in batches] == [3, 3, 3, 1]
    assert batches[-1] == [DAYS[0] + timedelta(days=9)]
