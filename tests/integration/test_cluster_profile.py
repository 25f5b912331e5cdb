"""The cluster profile on a real Spark standalone cluster (a master and two workers on 127.0.0.1):
two generated nights' ingest, standardise and identity, each submitted with spark-submit by the
nightly DAG's own operators, Delta written by delta-spark from the jars `make setup` fetched. What
they write must be what the embedded profile writes from the same files, table by table, and the
DAG's quality gates must pass on it (the second night's read the first night's files).

One feed, CRM members (member ids and phones, which identity links), keeps it to three jobs a night:
each is a Spark application of its own, as on a cluster, and costs a driver JVM and its executors'
start-up (20-70 s each on 2 shared cores). The night's ingest and standardise applications each serve every
feed delivered, and record each feed's outcome for its task in the DAG; one feed failing in them
does not stop the next.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from cluster_submit import cluster_profile, submit
from lakehouse_content import read_table, tables_that_differ

from databank.config import load_settings
from databank.feed_outcomes import read_outcome
from databank.generator.generate import GenerateArgs, generate
from databank.lakehouse import EmbeddedLakehouse
from databank.quality.batches import rows_per_day
from spark_jobs.ingest_feed import ingest
from spark_jobs.resolve_identity import resolve
from spark_jobs.standardise import standardise

pytestmark = pytest.mark.slow

DAY = date(2026, 5, 1)
DAYS = (DAY, DAY + timedelta(days=1))
FEEDS = ("members",)
KEY = "cluster-profile-key"


@pytest.fixture(scope="module")
def landing(module_tmp) -> Path:
    out = module_tmp("cluster-landing")
    generate(GenerateArgs(out=out, consumers=1000, days=len(DAYS), start=DAY, seed=19, bad_rate=0.03))
    return out


# A feed whose bronze gate passed (as the DAG would have it here) but was never ingested: its
# standardise fails, and the application goes on with the next feed.
NOT_INGESTED = "online_orders"


@pytest.fixture(scope="module")
def on_cluster(spark_cluster, landing, module_tmp):
    """The nights run by the cluster DAG's spark-submit tasks; returns the lakehouse folder."""
    data = module_tmp("cluster-profile")
    landed = {f"{feed}.wait_for_landing": "landed" for feed in FEEDS}
    passed = {f"{feed}.check_bronze": {"failed_critical": []} for feed in (NOT_INGESTED, *FEEDS)}
    with cluster_profile(spark_cluster, data, landing, KEY) as dag:
        for day in DAYS:
            submit(dag.get_task("ingest_feeds"), day, xcoms=landed)
            submit(dag.get_task("standardise_feeds"), day, xcoms=passed)
            submit(dag.get_task("resolve_identity"), day)
    return data / "lakehouse"


@pytest.fixture(scope="module")
def embedded(spark, landing, module_tmp) -> Path:
    """The same nights run in-process on the embedded profile (delta-rs); returns the lakehouse folder."""
    settings = load_settings(data_dir=module_tmp("embedded-profile"), landing_dir=landing, hmac_key=KEY)
    lake = EmbeddedLakehouse(str(settings.lakehouse))
    for day in DAYS:
        for feed in FEEDS:
            ingest(spark, lake, settings, feed, day)
        for feed in FEEDS:
            standardise(spark, lake, settings, feed, day)
        resolve(spark, lake, settings, day)
    return settings.lakehouse


def _tables(lakehouse: Path) -> set[str]:
    return {
        f"{log.parent.parent.name}.{log.parent.name}"
        for log in lakehouse.glob("*/*/_delta_log")
        if log.parent.parent.name != "_staging"
    }


def test_the_cluster_writes_the_tables_the_embedded_profile_writes(on_cluster, embedded):
    expected = {f"bronze.{f}" for f in FEEDS} | {"silver.identity_map", "silver.identifiers"}

    assert _tables(on_cluster) == _tables(embedded)
    assert expected <= _tables(on_cluster)


def test_every_table_holds_the_same_rows_on_both_profiles(on_cluster, embedded):
    assert not tables_that_differ(on_cluster, embedded, sorted(_tables(embedded)))


def test_the_day_is_not_empty(embedded):
    assert read_table(embedded, "silver.identity_map").num_rows > 0
    for feed in FEEDS:
        assert read_table(embedded, f"bronze.{feed}").num_rows > 0, feed


def test_the_dags_quality_gates_pass_on_what_the_cluster_wrote(on_cluster, tmp_path):
    """The gates between the submitted jobs run in the Airflow worker and read Delta with delta-rs."""
    from databank.quality.gates import check_bronze, check_silver

    # The gates record their results in the lakehouse: on a copy, so the comparisons above see the
    # tables of the jobs alone.
    lakehouse = shutil.copytree(on_cluster, tmp_path / "lakehouse")
    settings = load_settings(data_dir=tmp_path, lakehouse_dir=lakehouse, hmac_key=KEY)

    for day in DAYS:
        for feed in FEEDS:
            assert not check_bronze(settings, feed, day).failed_critical, (feed, day)
            assert not check_silver(settings, feed, day).failed_critical, (feed, day)


def test_each_feeds_outcome_in_the_nights_applications_is_recorded_for_its_task(on_cluster, embedded):
    last = DAYS[-1]
    for feed in FEEDS:
        ingested = read_outcome(on_cluster, "ingest", feed, last)
        standardised = read_outcome(on_cluster, "standardise", feed, last)
        assert ingested.result["rows_bronze"] == rows_per_day(embedded / "bronze" / feed, [last])[last] > 0
        assert standardised.result["rows_silver"] == rows_per_day(embedded / "silver" / feed, [last])[last]


def test_a_feed_failing_in_the_application_fails_alone_and_the_next_feed_goes_on(on_cluster):
    failed = read_outcome(on_cluster, "standardise", NOT_INGESTED, DAYS[-1])

    assert failed.error.startswith(f"NotIngestedError: bronze.{NOT_INGESTED} does not exist")
    assert not failed.retryable  # its task fails at once; the application itself succeeded
    assert all(read_outcome(on_cluster, "standardise", feed, DAYS[-1]).succeeded for feed in FEEDS)
