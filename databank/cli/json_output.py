"""`--json` of the read commands: one JSON document on stdout and nothing else, for scripts.

Dataclasses become objects, dates and times ISO 8601 strings, paths strings.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Any

import typer


def print_json(value: Any) -> None:
    """Print `value` (a dataclass, or anything `json` takes) as one JSON document on stdout."""
    document = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
    typer.echo(json.dumps(document, default=_plain, indent=2, ensure_ascii=False))


def _plain(value: Any) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)
