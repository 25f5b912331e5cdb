"""What comes before the nights run: one run at a time per data folder, and everything the nights
asked for cannot run without.

`check_night_can_run` names, once and before any task, a day outside the DAG's dates, the
pseudonymisation key, the landing root and the reference data the marts read; `check_history_can_run`
the same before a history load. `databank run`, `databank load-history`, `databank erase` and
`databank housekeeping` hold the data folder while they work.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from databank.config import Settings
from databank.keys import MissingKeyError, vault_master_key
from databank.pipeline import first_business_day, landed_days

# The reference snapshots the marts cannot build without: every sale and touch is a brand's, through
# its products. The other feeds a brand may not have (stores, campaigns, POS, ...) are empty when absent.
REFERENCE_SNAPSHOTS = ("brands", "products")


class NightCannotRunError(RuntimeError):
    """What the nights asked for cannot run without; each line names one missing thing and its fix."""


class RunInProgressError(RuntimeError):
    """Another run holds the data folder."""


RUN_LOCK = ".run.lock"


@contextmanager
def one_run_per_data_folder(config: Settings) -> Iterator[None]:
    """Hold the data folder while nights run: two runs would interleave their Airflow metadata (SQLite)
    and Delta commits. The operating system releases the lock when the holder dies, however it dies."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    with (config.data_dir / RUN_LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise RunInProgressError(
                f"Another databank run is working on {config.data_dir}: wait for it to end (a night "
                "is never run twice at once), or give this one another data folder (DATABANK_DATA_DIR)."
            ) from error
        yield


def check_night_can_run(days: list[date], config: Settings) -> None:
    """Raise NightCannotRunError naming everything that would stop the nights of `days` (in order)."""
    _check(days, config, reference_by=days[0])


def check_history_can_run(days: list[date], config: Settings) -> None:
    """As `check_night_can_run`, for a history load of `days`: its marts are built once, on the last
    day, so reference data delivered by then is enough (a brand's catalogue export is today's). A
    history ending before the night the warehouse was published for would take the marts back."""
    from databank.status import warehouse_run_date

    published = warehouse_run_date(config.warehouse)
    later = []
    if published is not None and published > days[-1]:
        later = [
            f"the warehouse is published for {published}, after {days[-1]}: a history ending earlier "
            f"would publish the marts of {days[-1]} over it. End the history on or after {published}."
        ]
    _check(days, config, reference_by=days[-1], found=later)


def _check(days: list[date], config: Settings, reference_by: date, found: Sequence[str] = ()) -> None:
    problems = list(found)
    if not config.landing.is_dir():
        problems += [
            f"no landing folder {config.landing}: feeds land in <landing>/<feed>/dt=YYYY-MM-DD/. Point "
            "landing_dir (DATABANK_LANDING_DIR) or data_dir (DATABANK_DATA_DIR) at where they are "
            "delivered, or write a synthetic brand's feeds there with `databank generate`."
        ]
    else:
        # Reference data is judged only for days the DAG runs: before its first day nothing has landed.
        problems += _outside_the_dags_dates(days, config) or _missing_reference(reference_by, config)
    problems += _missing_key(config)
    if problems:
        raise NightCannotRunError("\n".join(problems))


def _outside_the_dags_dates(days: list[date], config: Settings) -> list[str]:
    first, last = first_business_day(config), config.pipeline.end_date
    if first is None:
        feeds = ", ".join(config.pipeline.required_feeds)
        return [
            f"no required feed has landed under {config.landing} ({feeds}, in <feed>/dt=YYYY-MM-DD/), "
            "and [pipeline] start_date is not set, so the DAG has no first day: deliver the feeds, or "
            f"set start_date in databank.toml's [pipeline] (DATABANK_PIPELINE__START_DATE={days[0]})."
        ]
    problems = []
    if days[0] < first:
        source = (
            "[pipeline] start_date"
            if config.pipeline.start_date
            else f"the first day a required feed landed under {config.landing}; [pipeline] start_date "
            "is not set"
        )
        problems.append(
            f"{days[0]} is before the first business day {first} ({source}), so the nightly DAG has no "
            f"run for it: run from {first}, or set start_date in databank.toml's [pipeline] "
            f"(DATABANK_PIPELINE__START_DATE={days[0]})."
        )
    if last is not None and days[-1] > last:
        problems.append(
            f"{days[-1]} is after the last business day {last} ([pipeline] end_date), so the nightly DAG "
            f"has no run for it: run up to {last}, or move end_date (DATABANK_PIPELINE__END_DATE="
            f"{days[-1]}) or remove it."
        )
    return problems


def _missing_reference(first: date, config: Settings) -> list[str]:
    """Reference snapshots neither in silver from an earlier night nor landed by the first day."""
    missing = [feed for feed in REFERENCE_SNAPSHOTS if not _has_snapshot(feed, first, config)]
    if not missing:
        return []
    unlisted = [feed for feed in missing if feed not in config.pipeline.feeds]
    return [
        f"no reference data {', '.join(missing)} delivered on or before {first}: the marts cannot be "
        f"built without it. Deliver each to {config.landing}/<feed>/dt=<day>/ for a day up to {first}, "
        f"e.g. {config.landing / missing[0]}/dt={first}/ (`databank generate` writes them on its first day)"
        + (f", and list {', '.join(unlisted)} in [pipeline] optional_feeds." if unlisted else ".")
    ]


def _has_snapshot(feed: str, first: date, config: Settings) -> bool:
    if (config.lakehouse / "silver" / feed / "_delta_log").is_dir():
        return True
    landed = next(landed_days(feed, config), None)
    return feed in config.pipeline.feeds and landed is not None and landed <= first


def _missing_key(config: Settings) -> list[str]:
    # On the cluster profile the submitted jobs read the key where they run, not here.
    if config.profile != "embedded":
        return []
    problems = []
    try:
        if not config.pseudonymisation_key():
            problems.append("The pseudonymisation key is empty: set DATABANK_HMAC_KEY to a secret.")
    except MissingKeyError as error:
        problems.append(str(error))
    if config.privacy.vault_identifier_types:  # ingestion seals them in the vault
        try:
            vault_master_key(config)
        except MissingKeyError as error:
            problems.append(str(error))
    return problems
