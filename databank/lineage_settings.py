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
    """Move the events file's lines to the segment of `day` and delete the segments of days more than
    `keep_days` before it; return how many segments were deleted.

    The file is renamed, never rewritten: a task still emitting (an audience sync beside the upkeep)
    appends either to the renamed segment or to a new events file, so no event is lost. A day run
    again appends to its segment.
    """
    events = reports / EVENTS_FILE
    if events.is_file():
        segment = _segment(events, day)
        if segment.exists():
            moved = events.with_name(f"{events.name}.rotating")
            os.replace(events, moved)
            with segment.open("ab") as whole, moved.open("rb") as part:
                whole.write(part.read())
            moved.unlink()
        else:
            os.replace(events, segment)
    oldest_kept = day - timedelta(days=keep_days)
    deleted = 0
    for segment in events.parent.glob(f"{events.stem}-*{events.suffix}"):
        try:
            segment_day = date.fromisoformat(segment.stem.removeprefix(f"{events.stem}-"))
        except ValueError:
            continue  # not a segment of ours
        if segment_day < oldest_kept:
            segment.unlink()
            deleted += 1
    return deleted


def _segment(events: Path, day: date) -> Path:
    return events.with_name(f"{events.stem}-{day.isoformat()}{events.suffix}")
