"""What the night's application of a step, run for every delivered feed, did with each of them.

One Spark application ingests every feed delivered for the night, and one standardises them
(submitted to the cluster, or in a worker's process on the embedded profile): an application costs a
JVM's start-up and its first queries' compilation, on a cluster its executors' too, and the night
paid it per feed and step before. The DAG still shows each feed's progress and
failure: the application records one outcome per feed (what the step returned, or its error in one
line), and each feed's own task reads it (`databank.pipeline.feed_outcome`) and succeeds with the
feed's figures or fails with the feed's error.

An outcome is a small JSON file, `<lakehouse>/ops/feed_outcomes/<step>/<feed>.json`, replaced by every
run of the step and naming the day it ran for: the latest run's word on the feed. Like a failed
task's recorded reason (`databank.recorded_runs`), an error keeps its first line, which names files,
counts and checks, never a data row. The lakehouse is where the Airflow workers and the cluster's
driver both read and write, so a feed's task finds what the application wrote wherever each ran.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

OUTCOMES_FOLDER = Path("ops") / "feed_outcomes"


class OutcomeMissingError(RuntimeError):
    """The step's application recorded nothing for the feed and day: it did not run for them."""


@dataclass(frozen=True)
class FeedOutcome:
    step: str
    feed: str
    day: date
    result: dict[str, Any] | None = None  # what the step returned for the feed, when it succeeded
    error: str | None = None  # why it failed, in one line
    retryable: bool = False  # whether running the step again may fix it

    @property
    def succeeded(self) -> bool:
        return self.error is None


def outcome_path(lakehouse: Path, step: str, feed: str) -> Path:
    return lakehouse / OUTCOMES_FOLDER / step / f"{feed}.json"


def record_outcome(lakehouse: Path, outcome: FeedOutcome) -> None:
    """Replace the step's outcome for the feed, atomically: a reader sees the old one or the new one."""
    path = outcome_path(lakehouse, outcome.step, outcome.feed)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = path.with_suffix(".json.tmp")
    written.write_text(json.dumps(asdict(outcome) | {"day": outcome.day.isoformat()}))
    os.replace(written, path)


def read_outcome(lakehouse: Path, step: str, feed: str, day: date) -> FeedOutcome:
    """The step's outcome for the feed on `day`; OutcomeMissingError when its latest run was not for it."""
    path = outcome_path(lakehouse, step, feed)
    if not path.is_file():
        raise OutcomeMissingError(f"the {step} step has never recorded an outcome for {feed} ({path})")
    values = json.loads(path.read_text())
    outcome = FeedOutcome(**values | {"day": date.fromisoformat(values["day"])})
    if outcome.day != day:
        raise OutcomeMissingError(
            f"the {step} step's latest outcome for {feed} is of {outcome.day}, not {day}: "
            f"it did not run for {feed} on {day}"
        )
    return outcome
