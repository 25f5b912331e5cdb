"""The `[lineage]` settings: where the nightly DAG's OpenLineage events go (Airflow's OpenLineage
provider; what each task reads and writes is `databank.lineage`).

By default the events are appended to `<reports>/lineage/openlineage.jsonl`; `[lineage] url` sends
them to an OpenLineage HTTP endpoint (Marquez, a data catalogue) instead. With `[housekeeping]
lineage_days`, each night's upkeep moves the events appended so far to `openlineage-<day>.jsonl` and
deletes the files of older days (`rotate_events`). Light on purpose: the night runner reads it before
Airflow is imported, which takes its configuration once, at import.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from itertools import count
from pathlib import Path

from pydantic import BaseModel, Field

EVENTS_FILE = Path("lineage") / "openlineage.jsonl"


class LineageSettings(BaseModel):
    """The `[lineage]` settings: the nightly DAG's OpenLineage events."""

    enabled: bool = Field(True, description="Emit OpenLineage events as the tasks of a night start and end.")
    url: str | None = Field(
        None,
        description=(
            "An OpenLineage HTTP endpoint's base URL (e.g. Marquez: http://host:5000); unset: the events are "
            "appended to <reports>/lineage/openlineage.jsonl."
        ),
    )
    endpoint: str = Field("api/v1/lineage", description="The endpoint's path under `url`.")
    namespace: str = Field("databank", description="The OpenLineage namespace of the nightly jobs.")


def airflow_environment(lineage: LineageSettings, reports: Path) -> dict[str, str]:
    """The Airflow settings of the OpenLineage provider, as environment variables of the processes."""
    if not lineage.enabled:
        return {"AIRFLOW__OPENLINEAGE__DISABLED": "True"}
    if lineage.url:
        transport = {"type": "http", "url": lineage.url, "endpoint": lineage.endpoint}
    else:
        events = (reports / EVENTS_FILE).absolute()
        events.parent.mkdir(parents=True, exist_ok=True)
        transport = {"type": "file", "log_file_path": str(events), "append": True}
    return {
        "AIRFLOW__OPENLINEAGE__DISABLED": "False",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": lineage.namespace,
        # Tasks run Spark's JVM in their process: emit from a thread, never from a fork of it.
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
    }


def rotate_events(reports: Path, day: date, keep_days: int) -> int:
    """Move the events file to a file of `day` (`openlineage-<day>.jsonl`, then `-2`, `-3` for a day run
    again) and delete those of days more than `keep_days` before it; return how many were deleted.

    Files are only renamed, never copied or rewritten: a task still emitting (an audience sync beside
    the upkeep) appends either to the renamed file or to a new events file, so no event is lost.
    """
    events = reports / EVENTS_FILE
    if events.is_file():
        os.replace(events, _free_name(events, day))
    oldest_kept = day - timedelta(days=keep_days)
    deleted = 0
    for kept in events.parent.glob(f"{events.stem}-*{events.suffix}"):
        try:
            kept_day = date.fromisoformat(kept.stem.removeprefix(f"{events.stem}-")[:10])
        except ValueError:
            continue  # not a file of ours
        if kept_day < oldest_kept:
            kept.unlink()
            deleted += 1
    return deleted


def _free_name(events: Path, day: date) -> Path:
    names = (f"{events.stem}-{day.isoformat()}{'' if n == 1 else f'-{n}'}{events.suffix}" for n in count(1))
    return next(events.with_name(name) for name in names if not events.with_name(name).exists())
