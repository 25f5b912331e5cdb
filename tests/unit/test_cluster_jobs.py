"""A job submitted to the cluster that says a retry cannot fix its failure fails its task at once.

The job side is each job's main (a failing dbt test in the marts job); the Airflow side is the
operator of the nightly DAG's submitted tasks, run against a stand-in spark-submit that exits as a
job would, so the provider's own hook reports the exit.
"""

from __future__ import annotations

import stat

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from databank.cluster_jobs import ClusterJobOperator
from databank.dbt_runner import MartsBuildError
from databank.keys import MissingKeyError
from databank.pipeline import NotRetryableError
from spark_jobs import build_marts, each_feed, ingest_feed, standardise
from spark_jobs.ingest_feed import RowsLostError
from spark_jobs.not_retryable import NOT_RETRYABLE_EXIT
from spark_jobs.standardise import NotIngestedError


@pytest.fixture
def spark_submit_exiting(tmp_path, monkeypatch):
    """Puts on PATH a spark-submit that prints a line and exits with the code it is given."""

    def install(code: int) -> None:
        binary = tmp_path / "bin" / "spark-submit"
        binary.parent.mkdir(exist_ok=True)
        binary.write_text(f"#!/bin/sh\necho 'the job ran'\nexit {code}\n")
        binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", str(binary.parent), prepend=":")

    monkeypatch.setenv("AIRFLOW_CONN_TEST_CLUSTER", "spark://127.0.0.1:7077?deploy-mode=client")
    return install


def _operator() -> ClusterJobOperator:
    return ClusterJobOperator(task_id="build_and_publish_marts", application="job.py", conn_id="test_cluster")


def test_a_job_exiting_not_retryable_fails_its_task_with_not_retryable_error(spark_submit_exiting):
    spark_submit_exiting(NOT_RETRYABLE_EXIT)

    with pytest.raises(NotRetryableError, match=f"Error code is: {NOT_RETRYABLE_EXIT}"):
        _operator().execute({})


@pytest.mark.parametrize("code", [1, 137])
def test_any_other_failed_exit_stays_a_failure_the_dag_retries(spark_submit_exiting, code):
    spark_submit_exiting(code)

    with pytest.raises(AirflowException) as failure:
        _operator().execute({})
    assert not isinstance(failure.value, NotRetryableError)


def test_a_job_that_succeeds_succeeds(spark_submit_exiting):
    spark_submit_exiting(0)

    _operator().execute({})


def _failing(error: Exception):
    def run(*_):
        raise error

    return run


FAILED_TEST = {"unique_id": "test.databank.unique_one_id", "status": "fail", "message": "2 results"}
NOT_RETRYABLE = [
    (build_marts, "build_marts_on_spark", MartsBuildError("dbt build failed", [FAILED_TEST]), []),
    (ingest_feed, "ingest_days", RowsLostError("bronze and quarantine hold 9 of 10"), ["--feed", "x"]),
    (ingest_feed, "ingest_days", MissingKeyError("no pseudonymisation key"), ["--feed", "x"]),
    (standardise, "standardise_days", NotIngestedError("no bronze table"), ["--feed", "x"]),
]


@pytest.mark.parametrize(("job", "step", "error", "arguments"), NOT_RETRYABLE)
def test_a_job_exits_not_retryable_on_a_failure_a_retry_cannot_fix(
    monkeypatch, capsys, job, step, error, arguments
):
    for module in (job, each_feed):  # ingest and standardise start their session in each_feed
        monkeypatch.setattr(module, "build_session", lambda settings, name: None, raising=False)
        monkeypatch.setattr(module, "lakehouse_for", lambda settings: None, raising=False)
    monkeypatch.setattr(job, step, _failing(error))

    with pytest.raises(SystemExit) as ended:
        job.main([*arguments, "--date", "2026-05-01"])

    assert ended.value.code == NOT_RETRYABLE_EXIT
    assert f"{type(error).__name__}: {error}" in capsys.readouterr().err


def test_any_other_error_of_a_job_is_raised_as_it_is(monkeypatch):
    monkeypatch.setattr(build_marts, "build_session", lambda settings, name: None)
    monkeypatch.setattr(build_marts, "build_marts_on_spark", _failing(ConnectionResetError("executor lost")))

    with pytest.raises(ConnectionResetError):
        build_marts.main(["--date", "2026-05-01"])
