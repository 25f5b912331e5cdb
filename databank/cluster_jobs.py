"""The operator of the jobs the nightly DAG submits to the cluster: spark-submit, and a job that said
a retry cannot fix its failure (`spark_jobs.not_retryable`) fails its task at once, as the embedded
profile's `NotRetryableError` does. Any other failure (a lost executor, a cluster restarting) is
retried as before."""

from __future__ import annotations

import re

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.common.compat.sdk import AirflowException

from databank.pipeline import NotRetryableError
from spark_jobs.not_retryable import NOT_RETRYABLE_EXIT

# How SparkSubmitHook words a spark-submit that exited with an error.
_EXIT_CODE = re.compile(r"Error code is: (-?\d+)")


class ClusterJobOperator(SparkSubmitOperator):
    """spark-submit of a job of spark_jobs/; one that exited with NOT_RETRYABLE_EXIT raises
    NotRetryableError."""

    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowException as error:
            code = _EXIT_CODE.search(str(error))
            if code and int(code.group(1)) == NOT_RETRYABLE_EXIT:
                raise NotRetryableError(f"the job said a retry cannot fix its failure: {error}") from error
            raise
