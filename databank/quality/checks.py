"""What every expectation carries besides its rule: a stable name and a severity.

A name (`not_null(order_id)`, `volume_not_dropped`) is unique within its suite; the results table,
the report and severity overrides refer to an expectation as `<suite>:<name>`, e.g.
`silver.online_orders:unique(order_line_id)`. Each rule states its default severity where its suite
is built; `[quality] severity` overrides it by glob pattern:

    [quality.severity]
    "silver.*:volume_not_dropped" = "critical"
    "gold.rates:*" = "warning"

A critical failure stops the night before anything is published; a warning is recorded and shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any, Literal

import great_expectations as gx
from great_expectations.expectations import Expectation

Severity = Literal["critical", "warning"]
CRITICAL: Severity = "critical"
WARNING: Severity = "warning"
NAME = "name"
SEVERITY = "severity"


def check(
    name: str, expectation_type: type[Expectation], severity: Severity = CRITICAL, **kwargs: Any
) -> Expectation:
    """An expectation of `expectation_type` named `name`, with its default severity."""
    return expectation_type(meta={NAME: name, SEVERITY: severity}, **kwargs)


def qualified(suite: str, name: str) -> str:
    """How results, reports and overrides name an expectation: `<suite>:<name>`."""
    return f"{suite}:{name}"


def severity_for(suite: str, name: str, default: Severity, overrides: Mapping[str, Severity]) -> Severity:
    """The severity in force: the last override whose pattern matches `<suite>:<name>`, else `default`."""
    key = qualified(suite, name)
    matching = [severity for pattern, severity in overrides.items() if fnmatchcase(key, pattern)]
    return matching[-1] if matching else default


def build_suite(
    name: str, expectations: Iterable[Expectation], overrides: Mapping[str, Severity]
) -> gx.ExpectationSuite:
    """A suite of named expectations, each with the severity the overrides leave it."""
    expectations = list(expectations)
    names = [e.meta[NAME] for e in expectations]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"suite {name} names more than one expectation {repeated}")
    for expectation in expectations:
        meta = expectation.meta
        meta[SEVERITY] = severity_for(name, meta[NAME], meta[SEVERITY], overrides)
    return gx.ExpectationSuite(name=name, expectations=expectations)
