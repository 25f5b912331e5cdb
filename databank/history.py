"""A brand's history loaded in one go: `databank load-history --start D1 --end D2`.

Years of orders replayed night by night cost a night's fixed cost per day (hours for a few years).
A history load does the nights' work in few large Spark jobs and leaves the lakehouse as the nights
would, so the next nightly run carries on from it:

- each feed is ingested and standardised a batch of days at a time (`batch_days`, a month by
  default), each day of a batch decided, checked, accounted and registered as its own night would
  (`spark_jobs.ingest_feed.ingest_days`, `spark_jobs.standardise.standardise_days`); a feed is read
  on the days it landed, so a feed the brand did not have yet in the early years is simply absent;
- erasure requests delivered in a batch are applied after it, as the nights apply them;
- identity is resolved once over the whole range (`spark_jobs.resolve_identity.resolve`, `since`):
  each day's identifier pairs are recorded under that day, and the map after the last day is the
  range's one snapshot;
- the marts are built once, restated under that map (`databank.marts`, "restatement");
- one housekeeping pass as the night of the last day runs it (`databank.housekeeping`): the batches'
  files compacted, the tables checkpointed, so the first night after the load does not pay for
  compacting the whole range (a night compacts what it wrote).

What differs from nights, by design (docs/history.md):
- earlier days are evaluated with hindsight: a consumer whose identifiers were linked later in the
  range counts as one consumer on every day, as `databank marts --restate` counts them;
- ids are minted once for the range, dated from each consumer's first sighting, and merges within
  the range leave no `one_id_history` rows;
- the per-feed quality gates of bronze and silver are a night's; the gold gate judges the build;
- a record of a person whose erasure request arrived earlier in the same batch is stored, then
  purged with the batch's requests, where a night would have counted it suppressed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from databank.business_days import batched_by_weight, days_between
from databank.config import Settings
from databank.pipeline import has_landed, landing_folder

Progress = Callable[[str], None]


@dataclass
class FeedLoad:
    """One feed's days and rows over the range: delivered = bronze + quarantined + suppressed."""

    days: int = 0
    rows_delivered: int = 0
    rows_bronze: int = 0
    rows_quarantined: int = 0
    rows_suppressed: int = 0
    rows_silver: int = 0


@dataclass
class HistoryLoad:
    """What a history load did, step by step, and how long it took."""

    first: date
    last: date
    feeds: dict[str, FeedLoad] = field(default_factory=dict)
    erasures_applied: int = 0
    consumers: int = 0
    marts: dict[str, Any] = field(default_factory=dict)
    housekeeping: dict[str, int | str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def load_history(
    settings: Settings,
    first: date,
    last: date,
    batch_days: int = 92,
    batch_megabytes: int = 128,
    on_progress: Progress | None = None,
) -> HistoryLoad:
    """Load every feed's deliveries from `first` to `last`, resolve identity once, publish once and keep
    the lakehouse as the night of `last` keeps it.

    The feeds go a batch of days at a time: at most `batch_days` days and `batch_megabytes` of
    delivered files. A batch's records are kept in Spark's memory while they are counted and
    written, so the bytes bound that memory; the days bound how long one failed batch takes to run
    again. Each batch costs
    about ten seconds of Spark's own work per feed, so few large batches beat many small ones."""
    from databank.housekeeping import keep_lakehouse
    from databank.lakehouse import lakehouse_for
    from databank.marts import build_marts
    from databank.privacy.erasure import apply_erasure, pending_feed_requests
    from databank.spark_session import build_session
    from spark_jobs.ingest_feed import ingest_days
    from spark_jobs.resolve_identity import resolve
    from spark_jobs.standardise import standardise_days

    if batch_days < 1 or batch_megabytes < 1:
        raise ValueError(
            f"a batch holds at least a day and a megabyte, not {batch_days} and {batch_megabytes}"
        )
    say = on_progress or (lambda _: None)
    load = HistoryLoad(first, last)
    lake = lakehouse_for(settings)
    session = build_session(settings, f"databank load-history {first} to {last}")
    started = time.monotonic()
    days = days_between(first, last)
    delivered = partial(delivered_bytes, settings)
    for batch in batched_by_weight(days, delivered, batch_days, batch_megabytes * 2**20):
        for feed in settings.pipeline.feeds:
            landed = [day for day in batch if has_landed(feed, day, settings)]
            if not landed:
                continue
            say(f"{feed}: {landed[0]} to {landed[-1]} ({len(landed)} days)")
            loaded = load.feeds.setdefault(feed, FeedLoad())
            for ingested in ingest_days(session, lake, settings, feed, landed):
                loaded.days += 1
                loaded.rows_delivered += ingested.rows_delivered
                loaded.rows_bronze += ingested.rows_bronze
                loaded.rows_quarantined += ingested.rows_quarantined
                loaded.rows_suppressed += ingested.rows_suppressed
            standardised = standardise_days(session, lake, settings, feed, landed)
            loaded.rows_silver += sum(result.rows_silver for result in standardised)
        load.erasures_applied += apply_erasure(settings, pending_feed_requests(settings, batch[-1])).applied
    load.seconds["feeds"] = time.monotonic() - started

    say(f"identity: resolving {first} to {last} at once")
    started = time.monotonic()
    load.consumers = resolve(session, lake, settings, last, since=first).consumers
    load.seconds["identity"] = time.monotonic() - started

    say(f"marts: one build restated under the ids of {last}")
    built = build_marts(settings, last, restate=True)
    load.marts = {"tables": len(built.tables), "gold_warnings": list(built.gold_warnings)}
    load.seconds["marts"] = built.seconds

    say(f"housekeeping: the lakehouse kept as the night of {last} keeps it")
    started = time.monotonic()
    load.housekeeping = keep_lakehouse(settings, last).summary()
    load.seconds["housekeeping"] = time.monotonic() - started
    return load


def run_night_jobs(settings: Settings, day: date) -> None:
    """A night's Spark jobs and marts for `day` in this process, without Airflow and its quality gates:
    every landed feed ingested and standardised, identity resolved, the marts built. What a history
    load is held against, in its benchmark and its equivalence test."""
    from databank.lakehouse import lakehouse_for
    from databank.marts import build_marts
    from databank.spark_session import build_session
    from spark_jobs.ingest_feed import ingest
    from spark_jobs.resolve_identity import resolve
    from spark_jobs.standardise import standardise

    lake = lakehouse_for(settings)
    session = build_session(settings, f"databank night of {day}")
    for feed in settings.pipeline.feeds:
        if has_landed(feed, day, settings):
            ingest(session, lake, settings, feed, day)
            standardise(session, lake, settings, feed, day)
    resolve(session, lake, settings, day)
    build_marts(settings, day)


def delivered_bytes(settings: Settings, day: date) -> int:
    """The size of every file delivered for `day`, over the feeds the brand has."""
    folders = (landing_folder(feed, day, settings) for feed in settings.pipeline.feeds)
    return sum(path.stat().st_size for folder in folders for path in folder.rglob("*") if path.is_file())
