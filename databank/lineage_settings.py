"""The `[lineage]` settings: where the nightly DAG's OpenLineage events go (Airflow's OpenLineage
provider; what each task reads and writes is `databank.lineage`).

By default the events are appended to `<reports>/lineage/openlineage.jsonl`; `[lineage] url` sends
them to an OpenLineage HTTP endpoint (Marquez, a data catalogue) instead. Light on purpose: the
night runner reads it before Airflow is imported, which takes its configuration once, at import.
"""

from __future__ import annotations

import json
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
