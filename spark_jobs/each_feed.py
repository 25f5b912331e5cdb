"""A job's step run for several feeds in one Spark application, in turn.

By hand (`--feed a,b`), the feeds run in order and the first failure ends the job, as one feed's
would. The nightly DAG runs one application per step for every feed delivered that night: submitted
to the cluster (`--record-outcomes`), or in the worker's own process on the embedded profile
(`run_night`), so a night starts one Spark session for its feeds, not one per feed and step. There
each feed's outcome is recorded (`databank.feed_outcomes`) and a failed feed does not stop the
others. The application then fails only for a failure a retry may fix (a lost executor, storage not
answering), so Airflow runs it again; a failure a retry cannot fix (bad data, a missing key) is left
to the feed's own task in the DAG, which fails with it while the other feeds go on.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from databank.business_days import days_between
from databank.config import Settings, load_settings
from databank.feed_outcomes import FeedOutcome, record_outcome
from databank.lakehouse import Lakehouse, lakehouse_for
from databank.pipeline import plain_result
from databank.recorded_runs import failure_reason
from databank.spark_session import build_session
from spark_jobs.not_retryable import exit_when_not_retryable


class FeedsFailedError(RuntimeError):
    """Feeds of the night's application failed in a way running it again may fix."""


Step = Callable[[str], Sequence[Any]]  # a feed -> the step's result of each day
# A job's step on days of a feed: (session, lakehouse, settings, feed, days) -> a result per day.
StepOnDays = Callable[[SparkSession, Lakehouse, Settings, str, list[date]], Sequence[Any]]


def run_job(
    step: str, description: str, argv: list[str] | None, on_days: StepOnDays, not_retryable: tuple
) -> None:
    """A job's main: the step for each feed of the command line, in one Spark application."""
    args = job_arguments(description, argv)
    settings = load_settings()
    spark = build_session(settings, f"{step} {','.join(args.feed)} {args.date}")
    if args.record_outcomes:
        run_night(spark, settings, step, args.feed, args.date, on_days, not_retryable)
        return
    lake = lakehouse_for(settings)
    days = days_between(args.date, args.until or args.date)
    run_in_turn(args.feed, lambda feed: on_days(spark, lake, settings, feed, days), not_retryable)


def run_night(
    spark: SparkSession,
    settings: Settings,
    step: str,
    feeds: Sequence[str],
    day: date,
    on_days: StepOnDays,
    not_retryable: tuple[type[BaseException], ...],
) -> list[FeedOutcome]:
    """The night's application of the step: each feed of the night, its outcome recorded for its task
    in the DAG; fails after the last feed if a feed failed in a way a retry may fix."""
    lake = lakehouse_for(settings)
    return run_each_recorded(
        settings.lakehouse,
        step,
        feeds,
        day,
        lambda feed: on_days(spark, lake, settings, feed, [day]),
        not_retryable,
    )


def job_arguments(description: str, argv: list[str] | None) -> argparse.Namespace:
    """The command line of a job of a step per feed: `--feed`, `--date`, `--until`, `--record-outcomes`."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feed", required=True, type=feed_list, help="a feed, or several comma-separated")
    parser.add_argument(
        "--date", required=True, type=date.fromisoformat, help="local business day, YYYY-MM-DD"
    )
    parser.add_argument("--until", type=date.fromisoformat, help="last day of a range, YYYY-MM-DD")
    parser.add_argument(
        "--record-outcomes",
        action="store_true",
        help="record each feed's outcome for its task in the nightly DAG and go on with the next feed",
    )
    args = parser.parse_args(argv)
    if args.record_outcomes and args.until:
        parser.error("--record-outcomes runs one night: it takes no --until")
    return args


def feed_list(text: str) -> tuple[str, ...]:
    """`--feed`'s value: one feed or several, comma-separated; none when the night delivered none."""
    return tuple(feed for feed in (part.strip() for part in text.split(",")) if feed)


def run_in_turn(feeds: Sequence[str], run: Step, not_retryable: tuple[type[BaseException], ...]) -> None:
    """Each feed in turn, its results printed; the first failure ends the job (see the module)."""
    with exit_when_not_retryable(*not_retryable):
        for feed in feeds:
            for result in run(feed):
                print(result, flush=True)


def run_each_recorded(
    lakehouse: Path,
    step: str,
    feeds: Sequence[str],
    day: date,
    run: Step,
    not_retryable: tuple[type[BaseException], ...],
) -> list[FeedOutcome]:
    """Each feed of the night, its outcome recorded for its task in the DAG; raises FeedsFailedError
    after the last feed if a feed failed in a way a retry may fix (a submitted job exits with 1)."""
    outcomes = []
    for feed in feeds:
        outcome = _outcome(step, feed, day, run, not_retryable)
        record_outcome(lakehouse, outcome)
        print(f"{step} {feed} {day}: {outcome.error or outcome.result}", flush=True)
        outcomes.append(outcome)
    retryable = [outcome for outcome in outcomes if outcome.retryable]
    if retryable:
        failures = "; ".join(f"{outcome.feed}: {outcome.error}" for outcome in retryable)
        raise FeedsFailedError(
            f"{step} failed for {len(retryable)} feed(s), which a retry may fix: {failures}"
        )
    return outcomes


def _outcome(
    step: str, feed: str, day: date, run: Step, not_retryable: tuple[type[BaseException], ...]
) -> FeedOutcome:
    outcome = FeedOutcome(step, feed, day)
    try:
        (result,) = run(feed)
    except not_retryable as error:
        return replace(outcome, error=failure_reason(f"{feed}.{step}", error, day))
    # Any other error may be the cluster's, not the feed's: recorded, and the job fails after the others.
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        return replace(outcome, error=failure_reason(f"{feed}.{step}", error, day), retryable=True)
    return replace(outcome, result=plain_result(result))
