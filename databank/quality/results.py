"""The results of every expectation, night after night: a Delta table at
`<lakehouse>/quality/expectation_results`, partitioned by `run_date`.

One row per expectation evaluated: which run, business day, stage, suite and asset, the expectation's
name and severity, whether it held, what was observed and how many rows it did not expect. Checking
a day again replaces that day's rows of the same suite and asset, so the table holds each night's
last verdict and a trend can be read straight off it (`read_results`).

Gates of one night run in parallel task processes, so two commits can race: a commit that loses is
retried on the new version of the table.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError

from databank.config import Settings
from databank.privacy.personal_columns import statistics_configuration
from databank.quality.batches import is_delta

if TYPE_CHECKING:  # the runner loads Great Expectations, which readers of the results do not need
    from databank.quality.runner import Outcome

SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("run_date", pa.date32(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("suite", pa.string(), nullable=False),
        pa.field("asset", pa.string(), nullable=False),
        pa.field("expectation", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("success", pa.bool_(), nullable=False),
        pa.field("observed_value", pa.string()),
        pa.field("unexpected_count", pa.int64()),
        pa.field("details", pa.string()),
        pa.field("checked_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
PARTITION = "run_date"
COMMIT_ATTEMPTS = 8


def results_path(settings: Settings) -> Path:
    return settings.lakehouse / "quality" / "expectation_results"


@dataclass(frozen=True)
class SuiteOutcomes:
    """What one suite found on one asset."""

    suite: str
    asset: str
    outcomes: Sequence[Outcome]


def replace_results(
    settings: Settings,
    *,
    run_id: str,
    run_date: date,
    stage: str,
    checked: Sequence[SuiteOutcomes],
    checked_at: datetime,
) -> None:
    """Write what the suites found on a day in one commit, replacing what earlier checks of the same
    suites and assets wrote for that day."""
    rows = pa.Table.from_pylist(
        [
            {
                "run_id": run_id,
                "run_date": run_date,
                "stage": stage,
                "suite": suite.suite,
                "asset": suite.asset,
                "expectation": o.expectation,
                "severity": o.severity,
                "success": o.success,
                "observed_value": o.observed_value,
                "unexpected_count": o.unexpected_count,
                "details": o.details,
                "checked_at": checked_at,
            }
            for suite in checked
            for o in suite.outcomes
        ],
        schema=SCHEMA,
    )
    replaced = " OR ".join(f"(suite = {_quoted(s.suite)} AND asset = {_quoted(s.asset)})" for s in checked)
    _commit(results_path(settings), rows, f"{PARTITION} = '{run_date.isoformat()}' AND ({replaced})")


def read_results(settings: Settings, since: date | None = None) -> pa.Table:
    """Every result kept (of `since` and later days, if given), oldest day first; empty if none."""
    path = results_path(settings)
    if not is_delta(path):
        return SCHEMA.empty_table()
    table = DeltaTable(str(path))
    files = table.file_uris()
    if not files:
        return SCHEMA.empty_table()
    dataset = ds.dataset(files, schema=SCHEMA, partitioning="hive", partition_base_dir=str(path))
    rows = dataset.to_table(filter=pc.field(PARTITION) >= since if since else None)
    return rows.sort_by([(PARTITION, "ascending"), ("stage", "ascending"), ("suite", "ascending")])


def _commit(path: Path, rows: pa.Table, predicate: str) -> None:
    """Replace the rows matching `predicate` with `rows`, retrying when another gate committed first."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            if is_delta(path):
                write_deltalake(
                    str(path), rows, mode="overwrite", predicate=predicate, partition_by=[PARTITION]
                )
            else:
                configuration = statistics_configuration(rows.schema.names)
                write_deltalake(
                    str(path), rows, mode="append", partition_by=[PARTITION], configuration=configuration
                )
            return
        except (CommitFailedError, DeltaError) as error:
            if attempt == COMMIT_ATTEMPTS or not _is_conflict(error):
                raise
            time.sleep(random.uniform(0.05, 0.2) * attempt)  # apart, so the racers do not meet again


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _is_conflict(error: Exception) -> bool:
    """A commit that lost a race to another writer (or to the table's creation), not a real fault."""
    text = str(error).lower()
    return isinstance(error, CommitFailedError) or "conflict" in text or "already exists" in text
