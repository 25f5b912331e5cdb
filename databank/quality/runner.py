"""One Great Expectations checkpoint over one pandas batch, and its results as plain outcomes.

Each run builds an ephemeral context (a few milliseconds: nothing is kept in a GX store, the
results table is the record), a pandas data source whose one asset is the batch, and a checkpoint
with one validation definition.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.core import ExpectationValidationResult
from great_expectations.data_context.types.base import ProgressBarsConfig

from databank.quality.checks import NAME, SEVERITY, Severity

SAMPLE = 5  # unexpected values (and their rows) kept per failed expectation, enough to find the rest


@dataclass(frozen=True)
class Outcome:
    """The result of one expectation, as the results table and the report keep it."""

    expectation: str
    severity: Severity
    success: bool
    observed_value: str
    unexpected_count: int | None
    details: str  # JSON: the rule's arguments, a sample of what it did not expect, any error


def run_checkpoint(
    suite: gx.ExpectationSuite, frame: pd.DataFrame, asset: str, index_columns: Sequence[str] = ()
) -> list[Outcome]:
    """Validate `frame` (the data of `asset`) against `suite`; one outcome per expectation.

    `index_columns` name the rows a failed row-level expectation did not expect (e.g. brand and day).
    """
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas(name="databank")
        .add_dataframe_asset(name=asset)
        .add_batch_definition_whole_dataframe(name=asset)
    )
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=suite)
    )
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE}
    if index_columns:
        result_format["unexpected_index_column_names"] = list(index_columns)
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=suite.name, validation_definitions=[definition], result_format=result_format)
    )
    run = checkpoint.run(batch_parameters={"dataframe": frame})
    outcomes = [_outcome(result) for validation in run.run_results.values() for result in validation.results]
    return sorted(outcomes, key=lambda outcome: outcome.expectation)


def _outcome(result: ExpectationValidationResult) -> Outcome:
    config = result.expectation_config
    values = result.result or {}
    error = _error(result.exception_info)
    return Outcome(
        expectation=config.meta[NAME],
        severity=config.meta[SEVERITY],
        success=bool(result.success) and error is None,
        observed_value=_observed(config.type, values, bool(result.success), error),
        unexpected_count=values.get("unexpected_count"),
        details=json.dumps(_details(config.type, config.kwargs, values, error), default=str, sort_keys=True),
    )


def _observed(expectation_type: str, values: dict, success: bool, error: str | None) -> str:
    if error is not None:
        return f"error: {error.splitlines()[0] if error else 'unknown'}"
    if "observed_value" in values:
        return str(values["observed_value"])
    if "unexpected_count" in values:
        return f"{values['unexpected_count']} of {values.get('element_count', '?')} rows unexpected"
    if expectation_type == "expect_column_to_exist":
        return "present" if success else "missing"
    return ""


def _details(expectation_type: str, kwargs: dict, values: dict, error: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {
        "type": expectation_type,
        "kwargs": {k: v for k, v in kwargs.items() if k != "batch_id"},
    }
    if values.get("partial_unexpected_list"):
        details["unexpected_sample"] = values["partial_unexpected_list"][:SAMPLE]
    rows = values.get("partial_unexpected_index_list")
    if rows and isinstance(rows[0], dict):  # without index columns GX gives bare positions
        details["unexpected_rows"] = rows[:SAMPLE]
    if error is not None:
        details["error"] = error
    return details


def _error(info: dict | None) -> str | None:
    """The message of an exception GX caught while computing an expectation, if one was raised."""
    if not info:
        return None
    if "raised_exception" in info:  # one exception for the expectation
        if not info["raised_exception"]:
            return None
        return info.get("exception_message") or "exception raised"
    # else: one entry per metric that failed to compute (e.g. a column that is not there)
    messages = [v.get("exception_message") or "" for v in info.values() if isinstance(v, dict)]
    return "; ".join(m for m in messages if m) or ("exception raised" if messages else None)
