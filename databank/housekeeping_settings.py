"""The `[housekeeping]` settings: how the upkeep pass after each night (`databank.housekeeping`)
compacts, vacuums and applies the retention policy."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HousekeepingSettings(BaseModel):
    """The upkeep pass after each night (`databank housekeeping`, the DAG's last task)."""

    compact: bool = Field(True, description="Rewrite partitions of many small files as few large ones.")
    vacuum_retention_hours: int = Field(
        7 * 24,
        ge=0,
        description=(
            "Files a table stopped using longer ago than this are deleted; time travel reaches no further."
        ),
    )
    quarantine_raw_text_days: int | None = Field(
        None,
        gt=0,
        description=(
            "Quarantined records older than this many days lose their (masked) raw text; unset: kept."
        ),
    )
    landing_days: int | None = Field(
        None,
        gt=0,
        description=(
            "Landing day folders older than this many days are deleted (never one within "
            "ingest.late_days of the run date); unset: kept."
        ),
    )
    identity_map_days: int | None = Field(
        35,
        gt=0,
        description=(
            "The identity map's nightly snapshots (every identifier ever seen, one copy a night) "
            "older than this many days are deleted, but for the last one before them, which a re-run "
            "of the oldest kept night starts from; the merges and splits (one_id_history) stay whole. "
            "Unset: every snapshot kept."
        ),
    )
    lineage_days: int | None = Field(
        None,
        gt=0,
        description=(
            "The night's OpenLineage events file is moved to a file of the run date, and those of days "
            "more than this many days before it are deleted; unset: one file, kept whole."
        ),
    )
