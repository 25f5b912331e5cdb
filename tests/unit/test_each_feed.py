"""Each night one application ingests (or standardises) every feed of the night, submitted to the
cluster or in the worker's process, and each feed's task in the DAG reports that feed's outcome: its
figures, or its own error, while the other feeds go on. Failures the application cannot leave to a
feed's task (one a retry may fix) fail it, after the other feeds, so Airflow runs it again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from databank import pipeline
from databank.config import load_settings
from databank.feed_outcomes import FeedOutcome, OutcomeMissingError, read_outcome, record_outcome
from databank.pipeline import NotRetryableError
from spark_jobs.each_feed import FeedsFailedError, feed_list, job_arguments, run_each_recorded
from spark_jobs.ingest_feed import RowsLostError

DAY = date(2026, 5, 1)


@dataclass(frozen=True)
class Ingested:
    feed: str
    dt: date
    rows_bronze: int


def _step(failures: dict[str, Exception]):
    """A step that ingests 10 rows of each feed but those of `failures`, which fail with their error."""

    def run(feed: str) -> list[Ingested]:
        if feed in failures:
            raise failures[feed]
        return [Ingested(feed, DAY, 10)]

    return run


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABANK_DATA_DIR", str(tmp_path))
    pipeline.settings.cache_clear()
    yield load_settings()
    pipeline.settings.cache_clear()


def test_an_outcome_is_read_back_for_its_day_only(tmp_path):
    outcome = FeedOutcome("ingest", "members", DAY, result={"rows_bronze": 10})
    record_outcome(tmp_path, outcome)

    assert read_outcome(tmp_path, "ingest", "members", DAY) == outcome
    with pytest.raises(OutcomeMissingError, match="of 2026-05-01, not 2026-05-02"):
        read_outcome(tmp_path, "ingest", "members", date(2026, 5, 2))
    with pytest.raises(OutcomeMissingError, match="never recorded an outcome for stores"):
        read_outcome(tmp_path, "ingest", "stores", DAY)


def test_a_feed_failing_for_its_data_fails_its_own_task_and_the_others_go_on(settings):
    run = _step({"pos_transactions": RowsLostError("bronze and quarantine hold 9 of 10 rows")})

    outcomes = run_each_recorded(
        settings.lakehouse, "ingest", ["members", "pos_transactions", "stores"], DAY, run, (RowsLostError,)
    )

    assert [o.succeeded for o in outcomes] == [True, False, True]
    assert not any(o.retryable for o in outcomes)
    members = {"feed": "members", "dt": "2026-05-01", "rows_bronze": 10}
    assert pipeline.feed_outcome("ingest", "members", DAY) == members
    assert pipeline.feed_outcome("ingest", "stores", DAY)["feed"] == "stores"
    with pytest.raises(NotRetryableError, match=r"ingest of pos_transactions for 2026-05-01 failed.*9 of 10"):
        pipeline.feed_outcome("ingest", "pos_transactions", DAY)


def test_a_failure_a_retry_may_fix_fails_the_application_after_every_feed(settings):
    run = _step({"members": ConnectionResetError("executor lost")})

    with pytest.raises(FeedsFailedError) as ended:
        run_each_recorded(settings.lakehouse, "standardise", ["members", "stores"], DAY, run, ())

    assert str(ended.value) == "standardise failed for 1 feed(s), which a retry may fix: " + (
        "members: ConnectionResetError: executor lost"
    )  # not NotRetryableError, which fails a task at once; a submitted job exits with 1: both retried
    assert not isinstance(ended.value, NotRetryableError)
    assert pipeline.feed_outcome("standardise", "stores", DAY)["rows_bronze"] == 10
    assert read_outcome(settings.lakehouse, "standardise", "members", DAY).retryable


def test_a_feed_the_application_did_not_run_fails_its_task_without_retries(settings):
    with pytest.raises(NotRetryableError, match="never recorded an outcome for members"):
        pipeline.feed_outcome("ingest", "members", DAY)


def test_the_command_line_takes_one_feed_or_several():
    assert feed_list("members") == ("members",)
    assert feed_list("members,stores,") == ("members", "stores")  # as the DAG renders it
    assert feed_list("") == ()  # a night that delivered no feed
    arguments = job_arguments("", ["--feed", "members,stores", "--date", "2026-05-01", "--record-outcomes"])
    assert (arguments.feed, arguments.date, arguments.record_outcomes) == (("members", "stores"), DAY, True)
    a_range = ["--date", "2026-05-01", "--until", "2026-05-02"]
    with pytest.raises(SystemExit):  # outcomes are a night's
        job_arguments("", ["--feed", "members", *a_range, "--record-outcomes"])
