"""How a job submitted to the cluster says that running it again cannot fix its failure: it exits with
NOT_RETRYABLE_EXIT (spark-submit, in client mode, exits with the driver's code), and the operator that
submitted it fails the task at once (`databank.cluster_jobs`). The embedded profile's tasks raise
`databank.pipeline.NotRetryableError` for the same errors instead."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

# 1 is any uncaught Python error, 2 a bad command line (argparse).
NOT_RETRYABLE_EXIT = 3


@contextmanager
def exit_when_not_retryable(*errors: type[BaseException]) -> Iterator[None]:
    """In a job's main: one of `errors` ends the job with NOT_RETRYABLE_EXIT, its message on stderr."""
    try:
        yield
    except errors as error:
        print(f"not retryable: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        raise SystemExit(NOT_RETRYABLE_EXIT) from error
