"""
# databank_nightly — one run per business day

Each run covers one **local business day** of the brand (`business_timezone` in the databank
configuration, Asia/Shanghai by default): it is triggered at the local midnight that ends the day,
and its data interval is that day, `[D 00:00, D+1 00:00)` local. Every task works on that day and
nothing else (never on the clock), and running a task again replaces what it wrote for the day: a
re-run, a backfill (`catchup`, or `databank run --start D1 --end D2`) and a late delivery (re-run
the day, then the days after it) are the same tasks run again.

## Per feed, in parallel (one task group each)
1. `wait_for_landing`: the feed's folder `<landing>/<feed>/dt=D/` holds a file. A **required** feed
   (`[pipeline] required_feeds`) is awaited up to `landing_timeout_minutes`, then the run fails
   naming the feed. An **optional** feed (`optional_feeds`: reference snapshots and erasure requests,
   delivered only when they change) is awaited as long as a required feed is still missing; once every
   required feed is in, a missing optional one is reported as *skipped* and the night goes on with
   the latest snapshot delivered before.
2. `ingest`: landing files → bronze and quarantine (Delta), every delivered row accounted for (the
   feed's outcome in the night's `ingest_feeds` application, below).
3. `check_bronze`: the bronze quality gate (Great Expectations suites generated from the feed's
   contract, and its volume against its weekday's median): a failed critical expectation stops the
   night before anything is published; warnings are recorded (`databank/quality/README.md`).
4. `standardise`: bronze → silver (UTC times, dedup, refunds linked) and identifier sightings (the
   feed's outcome in `standardise_feeds`).
5. `check_silver`: the silver quality gate (types, unique keys, dates within the delivery, volume).

## Then, once for the day
6. `apply_erasure_requests`: the erasure requests delivered so far and not yet applied: each person's
   identifiers and one_ids resolved through OneID, suppressed for every later delivery, removed from
   every table (old files vacuumed) and the vault, and audited (`databank.privacy.erasure`). It runs
   before OneID, so the night is built without them.
7. `resolve_identity`: the day's sightings → OneID, incremental on the previous night's snapshot.
   First, a feed the brand does not have (listed neither required nor optional) or has not delivered
   yet gets an empty silver table of its shape, so the marts build from the feeds it has.
8. `build_and_publish_marts`: dbt builds the marts on a copy of the warehouse; the gold quality gate
   (AIPL states sum to the assets, the flow identity, rates, no missing day, freshness) checks the
   copy; only then is every mart mirrored to a gold Delta table and the copy swapped in as the analyst
   warehouse, atomically. Its outlets are one Asset per gold table (`databank.gold.<table>`), each
   event carrying the table's rows and Delta version, so a consumer (a BI refresh, an export)
   schedules on the tables it reads. On the cluster profile the submitted job writes gold with
   dbt-spark's models, and `publish_warehouse` then makes the warehouse over it (views over the Delta
   tables, the project's views), runs the night's dbt data tests and the gold gate on it and swaps it
   in (`databank.gold_warehouse`).
9. `sync_<audience>__<destination>`, one task per `[[reach.syncs]]`: what changed in the audience
   tonight (adds and removes, consenting consumers only) sent to the destination
   (`databank.reach.sync`). Each is its own task after the publish: one that fails (a webhook
   down) is retried and reported on its own, never undoing the published marts or another sync.
10. `publish_quality_report`: `<reports>/quality/index.html` shows every check of every night, this
   one's too; it runs whether the night passed or failed.

Every task that moves data declares what it reads and writes as Assets (`databank.lineage`): landing
-> bronze and quarantine -> silver -> OneID -> gold. Airflow's OpenLineage provider reports them in a
START and a COMPLETE or FAIL event per task run, to `<reports>/lineage/openlineage.jsonl` or the
endpoint `[lineage] url` names, so a lineage server draws the chain from a delivered file to a mart.

dbt runs as one task, not one task per model (Cosmos): the build works on a copy of the warehouse
that is swapped in only when every model and data test passed, so readers never see a half-built
night; per-model tasks would each write the published file. dbt's own output lists each model.

## Operations
- The first business day is `[pipeline] start_date`, or, when it is not set, the first day a required
  feed landed under the landing root (read at each parse: a listing of each required feed's folder);
  with neither, there is nothing to catch up and the scheduler starts from the coming night.
  `end_date` ends the runs.
- `max_active_runs=1` and `catchup`: nights run in order. Identity and marts build on the previous
  night's state, so they wait for its success (`depends_on_past`): a failed night stops the line
  until it is fixed and re-run.
- Retries with exponential backoff, except failures a retry cannot fix (bad data, a failing dbt
  test, a missing pseudonymisation key: `databank.pipeline.NotRetryableError`), which fail at once;
  a job submitted to the cluster says so by its exit code (`spark_jobs/not_retryable.py`).
- Execution timeouts on every task; sensors reschedule between pokes instead of holding a slot.
- One Spark application per step, not per feed and step: a session costs its start and its first
  queries' compilation (about 15 s on our 2-core machine; a driver and executors on a cluster: tens
  of seconds), and an executor runs each task in a process of its own. So a night runs one
  application, `ingest_feeds`, for every feed delivered tonight (once each feed's sensor is done), and
  one, `standardise_feeds`, for every feed that passed its bronze gate. Each feed's `ingest` and
  `standardise` tasks then report the feed's outcome in them (`databank.feed_outcomes`): its figures,
  or its error, so a feed's bad data fails its own task while the other feeds are ingested and
  checked (standardising waits for every bronze gate, so the night stops there). The application
  itself fails, and is retried whole, only for a failure a retry may fix; to run a feed again once its
  data is fixed, clear the application's task (with its downstream tasks).
- Spark jobs run in the task's process on the embedded profile (one machine, no services); on the
  `cluster` profile (`DATABANK_PROFILE=cluster`) ingest, standardise, identity and the marts are
  submitted with spark-submit through the Airflow connection `[cluster] spark_conn_id`, with
  delta-spark's jars (`make setup` fetches what jars/pom.xml pins) on `spark.jars`, so nothing is
  downloaded at run time; the cluster's Python environment has databank installed from the same lock
  file. There dbt-spark builds the marts in the submitted application and writes gold itself, table by
  table (`databank.spark_marts`), instead of a warehouse file swapped in whole.
- Logic lives in `databank.pipeline` (importable, testable without Airflow); this file only wires it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import pendulum
from airflow.sdk import (
    CronTriggerTimetable,
    ExceptionRetryPolicy,
    PokeReturnValue,
    RetryAction,
    RetryRule,
    TriggerRule,
    dag,
    task,
    task_group,
    teardown,
)
from airflow.sdk.exceptions import AirflowSkipException

from databank import lineage, pipeline, recorded_runs

if TYPE_CHECKING:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

log = logging.getLogger(__name__)

SETTINGS = pipeline.settings()
PIPELINE = SETTINGS.pipeline
ON_CLUSTER = SETTINGS.profile == "cluster"
FIRST_DAY = pipeline.first_business_day(SETTINGS)
# The run's business day, as Airflow renders it into a submitted job's arguments.
BUSINESS_DAY = (
    f"{{{{ data_interval_start.in_timezone('{SETTINGS.business_timezone}').strftime('%Y-%m-%d') }}}}"
)

GOLD_ASSETS = {
    table: lineage.table_asset(SETTINGS.lakehouse, "gold", table) for table in pipeline.gold_tables()
}

RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=pipeline.NotRetryableError,
            action=RetryAction.FAIL,
            reason="running again cannot fix it: fix the data or the code, then re-run the day",
        )
    ]
)


def _midnight_after(day: date) -> pendulum.DateTime:
    """The trigger of a business day's run: the local midnight that ends the day."""
    return pendulum.datetime(day.year, day.month, day.day, tz=SETTINGS.business_timezone).add(days=1)


@task.sensor(
    mode="reschedule",
    poke_interval=PIPELINE.landing_poke_seconds,
    timeout=PIPELINE.landing_timeout_minutes * 60,
    execution_timeout=timedelta(minutes=5),
)
def wait_for_landing(
    feed: str, required: bool, data_interval_start: datetime | None = None
) -> PokeReturnValue:
    """The feed's landing folder for the day holds a file (an optional feed: or every required one has)."""
    day = pipeline.business_day(data_interval_start)
    folder = pipeline.landing_folder(feed, day)
    if pipeline.has_landed(feed, day):
        return PokeReturnValue(is_done=True, xcom_value=str(folder))
    if not required and all(pipeline.has_landed(f, day) for f in PIPELINE.required_feeds):
        raise AirflowSkipException(f"optional feed {feed} was not delivered for {day} (no files in {folder})")
    log.info("%s feed %s has not landed yet in %s", "required" if required else "optional", feed, folder)
    return PokeReturnValue(is_done=False)


# Tasks returning a dict say multiple_outputs=False: one XCom each, not one more per key.
@task(multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED)
def feeds_application(step: str, feeds: str, data_interval_start: datetime | None = None) -> dict:
    """The night's ingest (landing -> bronze + quarantine) or standardise (bronze -> silver and
    identifier sightings) of every feed in `feeds`, in this worker's process and one Spark session."""
    return pipeline.feeds_application(step, feeds, pipeline.business_day(data_interval_start))


def submitted(job: str, task_id: str, *arguments: str, **task_arguments) -> SparkSubmitOperator:
    """A Spark job of spark_jobs/ run by spark-submit on the cluster, for the run's business day."""
    # Imported on the cluster profile only: it brings OpenLineage's Spark integration, a second of parsing.
    from databank.cluster_jobs import ClusterJobOperator

    return ClusterJobOperator(
        task_id=task_id,
        application=str(pipeline.spark_job_file(job)),
        application_args=[*arguments, "--date", BUSINESS_DAY],
        conn_id=SETTINGS.cluster.spark_conn_id,
        conf=SETTINGS.cluster.spark_conf(),
        name=f"databank {task_id} {BUSINESS_DAY}",
        **task_arguments,
    )


@task(multiple_outputs=False)
def check_bronze(feed: str, data_interval_start: datetime | None = None) -> dict:
    """The bronze quality gate of the feed's day: its contract's expectations and its volume."""
    return pipeline.check_quality("bronze", feed, pipeline.business_day(data_interval_start))


@task(multiple_outputs=False)
def check_silver(feed: str, data_interval_start: datetime | None = None) -> dict:
    """The silver quality gate of the feed's day: typed, deduplicated, dated within the delivery."""
    return pipeline.check_quality("silver", feed, pipeline.business_day(data_interval_start))


@task(multiple_outputs=False)
def feed_outcome(step: str, feed: str, data_interval_start: datetime | None = None) -> dict:
    """The feed's outcome in the night's application of the step: its figures, or its error."""
    return pipeline.feed_outcome(step, feed, pipeline.business_day(data_interval_start))


def feeds_that_passed(task_id: str) -> str:
    """Rendered at run time: the feeds whose `task_id` in their group succeeded, comma-separated (a
    skipped optional feed's task left no XCom)."""
    return "".join(
        f"{{% if ti.xcom_pull(task_ids='{feed}.{task_id}') is not none %}}{feed},{{% endif %}}"
        for feed in PIPELINE.feeds
    )


@task_group
def feed_night(feed: str, required: bool, applications: dict) -> None:
    """Wait for one feed's delivery, ingest it, check bronze, standardise it, check silver.

    `applications` are the night's two applications, which ingest and standardise every delivered
    feed: the group's own ingest and standardise tasks report the feed's outcome in them, with the
    feed's lineage, so the DAG still shows which feed failed."""
    landed = wait_for_landing.override(soft_fail=not required)(feed, required)
    ingest_lineage = lineage.ingest_lineage(SETTINGS.landing, SETTINGS.lakehouse, feed).arguments()
    standardise_lineage = lineage.standardise_lineage(SETTINGS.lakehouse, feed).arguments()
    ingested = feed_outcome.override(task_id="ingest", **ingest_lineage)("ingest", feed)
    standardised = feed_outcome.override(task_id="standardise", **standardise_lineage)("standardise", feed)
    bronze_checked = check_bronze(feed)
    landed >> ingested >> bronze_checked >> standardised >> check_silver(feed)
    landed >> applications["ingest"] >> ingested
    bronze_checked >> applications["standardise"] >> standardised


def feed_applications() -> dict:
    """One application ingesting every feed delivered tonight, and one standardising every feed that
    passed its bronze gate: submitted to the cluster, or run in the worker's process (embedded)."""
    # A skipped optional feed is no failure: the applications run for the feeds that are there.
    delivered, passed = feeds_that_passed("wait_for_landing"), feeds_that_passed("check_bronze")
    if not ON_CLUSTER:
        return {
            "ingest": feeds_application.override(task_id="ingest_feeds")("ingest", delivered),
            "standardise": feeds_application.override(task_id="standardise_feeds")("standardise", passed),
        }
    options = {"trigger_rule": TriggerRule.NONE_FAILED}
    return {
        "ingest": submitted(
            "ingest_feed", "ingest_feeds", "--feed", delivered, "--record-outcomes", **options
        ),
        "standardise": submitted(
            "standardise", "standardise_feeds", "--feed", passed, "--record-outcomes", **options
        ),
    }


@task(multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED)
def apply_erasure_requests(data_interval_start: datetime | None = None) -> dict:
    """The night's pending erasure requests: each person suppressed, purged everywhere and audited."""
    return pipeline.apply_erasure_requests(pipeline.business_day(data_interval_start))


@task(multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED, depends_on_past=PIPELINE.depends_on_past)
def resolve_identity(data_interval_start: datetime | None = None) -> dict:
    """Identifier sightings of the day -> OneID; runs when every feed is standardised or was skipped."""
    return pipeline.resolve(pipeline.business_day(data_interval_start))


def identity_task():
    """Resolve identity in this worker (embedded) or as a job submitted to the cluster."""
    identity_lineage = lineage.identity_lineage(SETTINGS.lakehouse).arguments()
    if ON_CLUSTER:
        return submitted(
            "resolve_identity",
            "resolve_identity",
            trigger_rule=TriggerRule.NONE_FAILED,
            depends_on_past=PIPELINE.depends_on_past,
            **identity_lineage,
        )
    return resolve_identity.override(**identity_lineage)()


MARTS_TASK = {
    "inlets": lineage.marts_inlets(SETTINGS.lakehouse, pipeline.find_dbt_project()),
    "outlets": list(GOLD_ASSETS.values()),
    "execution_timeout": timedelta(minutes=PIPELINE.marts_timeout_minutes),
    "depends_on_past": PIPELINE.depends_on_past,
}


@task(multiple_outputs=False, **MARTS_TASK)
def build_and_publish_marts(data_interval_start: datetime | None = None, outlet_events=None) -> dict:
    """dbt build of the day's marts, swapped in as the warehouse and mirrored to gold Delta tables."""
    published = pipeline.build_and_publish_marts(pipeline.business_day(data_interval_start))
    for table, figures in published["tables"].items():
        if table in GOLD_ASSETS:
            outlet_events[GOLD_ASSETS[table]].extra = {"run_date": published["run_date"], **figures}
        else:
            log.warning(
                "gold table %s has no Asset: it is not a model under dbt_project/models/marts/", table
            )
    return published


@task(multiple_outputs=False, execution_timeout=timedelta(minutes=PIPELINE.marts_timeout_minutes))
def publish_warehouse(data_interval_start: datetime | None = None) -> dict:
    """The warehouse over the gold the cluster wrote, checked by dbt's data tests and the gold gate,
    and swapped in."""
    return pipeline.publish_warehouse(pipeline.business_day(data_interval_start))


def marts_task():
    """Build the marts on a copy of the warehouse and publish it and gold (embedded), or with
    dbt-spark in a job submitted to the cluster, straight into gold."""
    if ON_CLUSTER:
        return submitted("build_marts", "build_and_publish_marts", **MARTS_TASK)
    return build_and_publish_marts()


@task(multiple_outputs=False)
def sync_audience(audience: str, destination: str, data_interval_start: datetime | None = None) -> dict:
    """Send the destination what changed in the audience tonight: adds and removes, consenting only."""
    return pipeline.sync_audience(audience, destination, pipeline.business_day(data_interval_start))


# A teardown runs once everything before it is done, and its outcome is not the night's: a failed
# night stays failed although its report was published.
@teardown
def publish_quality_report(data_interval_start: datetime | None = None) -> str:
    """Rebuild the quality report with this night's checks, whether the night passed or failed."""
    return pipeline.build_quality_report(pipeline.business_day(data_interval_start))


# Also a teardown: upkeep of the lakehouse follows every night, and a failure of it is kept and shown by
# `databank status` without turning a published night into a failed one.
@teardown
def keep_lakehouse(data_interval_start: datetime | None = None) -> dict:
    """Compact small files, vacuum old ones and apply the retention policy, on every lakehouse table."""
    return pipeline.keep_lakehouse(pipeline.business_day(data_interval_start))


@dag(
    dag_id=pipeline.DAG_ID,
    schedule=CronTriggerTimetable(
        "0 0 * * *", timezone=SETTINGS.business_timezone, interval=timedelta(days=1)
    ),
    start_date=_midnight_after(FIRST_DAY) if FIRST_DAY else None,
    end_date=_midnight_after(PIPELINE.end_date) if PIPELINE.end_date else None,
    catchup=FIRST_DAY is not None,  # without a first day there is nothing to catch up
    max_active_runs=1,
    max_active_tasks=PIPELINE.max_parallel_tasks,
    doc_md=__doc__,
    tags=["databank", "nightly"],
    default_args={
        "owner": PIPELINE.owner,
        "retries": PIPELINE.retries,
        "retry_delay": timedelta(seconds=PIPELINE.retry_delay_seconds),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=PIPELINE.max_retry_delay_minutes),
        "retry_policy": RETRY_POLICY,
        "execution_timeout": timedelta(minutes=PIPELINE.spark_task_timeout_minutes),
        "on_failure_callback": recorded_runs.record_failure,  # keeps the error, which Airflow does not
    },
)
def databank_nightly() -> None:
    applications = feed_applications()
    feeds = [
        feed_night.override(group_id=feed)(feed, feed in PIPELINE.required_feeds, applications)
        for feed in PIPELINE.feeds
    ]
    erased = apply_erasure_requests()
    built = feeds >> erased >> identity_task() >> marts_task()
    published = built >> publish_warehouse() if ON_CLUSTER else built
    published >> publish_quality_report() >> keep_lakehouse()
    for sync in SETTINGS.reach.syncs:
        task_id = f"sync_{sync.audience}__{sync.destination}"
        published >> sync_audience.override(task_id=task_id)(sync.audience, sync.destination)


nightly = databank_nightly()
