"""One generated brand group, three days of it ingested, shared by the integration tests."""

from dataclasses import replace
from datetime import timedelta

import pytest
from delta_reading import DAYS, FEEDS, REFERENCE_FEEDS, START

from databank.config import load_settings
from databank.generator.generate import GenerateArgs, generate
from databank.generator.rates import Rates
from databank.lakehouse import EmbeddedLakehouse
from databank.marts import build_marts
from spark_jobs.ingest_feed import ingest
from spark_jobs.resolve_identity import resolve
from spark_jobs.standardise import standardise


@pytest.fixture(scope="session")
def ingested(spark, tmp_path_factory):
    """Three generated days of every event feed, CRM members and reference data, ingested."""
    data = tmp_path_factory.mktemp("ingest")
    settings = load_settings(data_dir=data, hmac_key="integration-key")
    # Refunds paid out within the three days and placeholder phones on many orders, so both are seen.
    rates = replace(Rates(), refund_rate=0.3, refund_max_days=2, placeholder_phone_share=0.5)
    generate(
        GenerateArgs(out=settings.landing, consumers=1200, days=DAYS, start=START, seed=11, bad_rate=0.04),
        rates=rates,
    )
    lake = EmbeddedLakehouse(str(settings.lakehouse))
    _every_feed_and_day(lambda feed, day: ingest(spark, lake, settings, feed, day))
    for feed in REFERENCE_FEEDS:
        ingest(spark, lake, settings, feed, START)
    return settings, lake


@pytest.fixture(scope="session")
def standardised(spark, ingested):
    """The ingested days standardised into silver."""
    settings, lake = ingested
    _every_feed_and_day(lambda feed, day: standardise(spark, lake, settings, feed, day))
    for feed in REFERENCE_FEEDS:
        standardise(spark, lake, settings, feed, START)
    return settings, lake


@pytest.fixture(scope="session")
def resolved(spark, standardised):
    """Identity resolved night by night (incremental after the first, whatever the profile's default,
    so the incremental path is what the identity tests compare with a full rebuild), with each
    night's result."""
    settings, lake = standardised
    days = [START + timedelta(days=offset) for offset in range(DAYS)]
    results = [resolve(spark, lake, settings, day, update="incremental") for day in days]
    return settings, lake, results


@pytest.fixture(scope="session")
def published(resolved, tmp_path_factory):
    """The marts of the last resolved day built (with dbt's unit tests) and published: the warehouse
    and gold tables an analyst, the dashboard or an audience export reads. Returns the settings that
    point at them and what the build reported."""
    resolved_settings, _, _ = resolved
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("published"),
        lakehouse_dir=resolved_settings.lakehouse,
        hmac_key="integration-key",
    )
    # build_marts raises, listing dbt's failing nodes, if any model, data test or unit test fails
    result = build_marts(settings, START + timedelta(days=DAYS - 1), full_refresh=True, unit_tests=True)
    return settings, result


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """A Spark standalone master and two workers (one core each) on 127.0.0.1, stopped as a whole."""
    from databank import local_cluster

    with local_cluster.start(tmp_path_factory.mktemp("spark-cluster")) as cluster:
        yield cluster


def _every_feed_and_day(step) -> None:
    for feed in FEEDS:
        for offset in range(DAYS):
            step(feed, START + timedelta(days=offset))
