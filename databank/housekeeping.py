"""Lakehouse upkeep after a night: small files compacted, files no version needs any more removed,
and what the retention policy lets go, gone.

Every night rewrites the partitions it touches as new files and leaves the old ones for time travel,
so without upkeep a table's folder only grows: 14 demo nights leave hundreds of small files per layer.
Each housekeeping pass, on every Delta table of the lakehouse (bronze, silver, quarantine, gold, ops,
quality results; the vault keeps its own zero-retention vacuum):

- compacts the partitions holding more than one small file (delta-rs `optimize.compact`, which
  rewrites only those and keeps the rows as they are);
- vacuums the files the table stopped using more than `vacuum_retention_hours` ago. Re-running a
  night needs no old version: it replaces its partitions from the landing files, so the retention
  only bounds how far back time travel reaches;
- clears the raw text of quarantined records older than `quarantine_raw_text_days`: the masked line
  helps a data engineer fix a feed for a few weeks, after which it is personal data without a purpose;
- deletes landing day folders older than `landing_days`, never one the late-data window
  (`ingest.late_days`) may still re-read when a night is run again;
- keeps the night's OpenLineage events in a file of the run date and deletes those older than
  `lineage_days` (`databank.lineage_settings.rotate_events`);
- deletes the identity map's snapshots older than `identity_map_days` but the last of them, and
  notes in the table's properties before which day they are gone, so that a night older than that
  is refused rather than run again without the map before it (`snapshots_let_go_before`).

Retention is off (None) unless configured, because deleting a brand's files is its decision; the
identity map's snapshots are the product's own state, rebuilt every night, and keep 35 days: one a
night, each as large as the brand's identifiers (a medium-tier brand: 90 MB), they would otherwise
grow with people times nights.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from deltalake import DeltaTable

from databank.housekeeping_settings import HousekeepingSettings
from databank.lineage_settings import rotate_events
from databank.privacy.purge import delta_tables

if TYPE_CHECKING:
    from databank.config import Settings

RAW_TEXT = "raw_text"
SNAPSHOTS_LET_GO_BEFORE = "databank.identity_map.snapshots_let_go_before"


@dataclass
class TableUpkeep:
    """What one pass did to one table: data files of its current version before and after, bytes of
    data files deleted from disk, raw texts cleared."""

    files_before: int
    files_after: int
    bytes_reclaimed: int
    raw_texts_cleared: int = 0


@dataclass
class HousekeepingResult:
    """What one pass did, per table (by its path under the lakehouse) and to the landing folders."""

    run_date: date
    tables: dict[str, TableUpkeep] = field(default_factory=dict)
    landing_folders_deleted: int = 0
    lineage_files_deleted: int = 0
    map_snapshots_deleted: int = 0

    @property
    def files_before(self) -> int:
        return sum(t.files_before for t in self.tables.values())

    @property
    def files_after(self) -> int:
        return sum(t.files_after for t in self.tables.values())

    @property
    def bytes_reclaimed(self) -> int:
        return sum(t.bytes_reclaimed for t in self.tables.values())

    def summary(self) -> dict[str, int | str]:
        return {
            "run_date": self.run_date.isoformat(),
            "tables": len(self.tables),
            "files_before": self.files_before,
            "files_after": self.files_after,
            "bytes_reclaimed": self.bytes_reclaimed,
            "raw_texts_cleared": sum(t.raw_texts_cleared for t in self.tables.values()),
            "landing_folders_deleted": self.landing_folders_deleted,
            "lineage_files_deleted": self.lineage_files_deleted,
            "map_snapshots_deleted": self.map_snapshots_deleted,
        }


def keep_lakehouse(settings: Settings, run_date: date) -> HousekeepingResult:
    """One upkeep pass over the lakehouse and landing as the night of `run_date` leaves them."""
    policy = settings.housekeeping
    result = HousekeepingResult(run_date)
    lakehouse = settings.lakehouse
    if policy.identity_map_days is not None:
        oldest_kept = run_date - timedelta(days=policy.identity_map_days)
        result.map_snapshots_deleted = _let_go_of_snapshots(_identity_map(lakehouse), oldest_kept)
    for path in delta_tables(lakehouse):
        result.tables[path.relative_to(lakehouse).as_posix()] = _keep_table(path, policy, run_date)
    if policy.landing_days is not None:
        oldest_kept = run_date - timedelta(days=max(policy.landing_days, settings.ingest.late_days))
        result.landing_folders_deleted = _delete_landing_before(settings.landing, oldest_kept)
    if policy.lineage_days is not None:
        result.lineage_files_deleted = rotate_events(settings.reports, run_date, policy.lineage_days)
    return result


def snapshots_let_go_before(path: str) -> date | None:
    """The day before which housekeeping deleted the identity map's snapshots (at `path`), if it did."""
    if not DeltaTable.is_deltatable(path):
        return None
    day = DeltaTable(path).metadata().configuration.get(SNAPSHOTS_LET_GO_BEFORE)
    return date.fromisoformat(day) if day else None


def _identity_map(lakehouse: Path) -> Path:
    from spark_jobs.resolve_identity import MAP  # the job that writes it names it

    return lakehouse / "silver" / MAP


def _let_go_of_snapshots(path: Path, oldest_kept: date) -> int:
    """Delete the snapshots before the last one older than `oldest_kept`; how many were deleted."""
    if not DeltaTable.is_deltatable(str(path)):
        return 0
    table = DeltaTable(str(path))
    older = sorted(day for day in _partition_days(table) if day < oldest_kept)
    if len(older) < 2:
        return 0
    kept_from = older[-1]
    table.delete(predicate=f"dt < '{kept_from.isoformat()}'")  # whole partitions: no file rewritten
    table.alter.set_table_properties(
        {SNAPSHOTS_LET_GO_BEFORE: kept_from.isoformat()}, raise_if_not_exists=False
    )
    return len(older) - 1


def _partition_days(table: DeltaTable) -> set[date]:
    return {date.fromisoformat(partition["dt"]) for partition in table.partitions()}


def _keep_table(path: Path, policy: HousekeepingSettings, run_date: date) -> TableUpkeep:
    table = DeltaTable(str(path))
    files_before = len(table.file_uris())
    bytes_before = _folder_bytes(path)
    cleared = 0
    if policy.quarantine_raw_text_days is not None and _is_quarantine_with_raw_text(path, table):
        cutoff = run_date - timedelta(days=policy.quarantine_raw_text_days)
        metrics = table.update(
            updates={RAW_TEXT: "NULL"}, predicate=f"dt < '{cutoff.isoformat()}' AND {RAW_TEXT} IS NOT NULL"
        )
        cleared = int(metrics.get("num_updated_rows", 0))
    if policy.compact:
        table.optimize.compact()
    table.vacuum(
        retention_hours=policy.vacuum_retention_hours, dry_run=False, enforce_retention_duration=False
    )
    table.create_checkpoint()  # readers start from it instead of replaying every night's commit
    table.cleanup_metadata()
    files_after = len(DeltaTable(str(path)).file_uris())
    return TableUpkeep(files_before, files_after, max(bytes_before - _folder_bytes(path), 0), cleared)


def _is_quarantine_with_raw_text(path: Path, table: DeltaTable) -> bool:
    names = set(table.schema().to_arrow().names)
    return path.parent.name == "quarantine" and {RAW_TEXT, "dt"} <= names


def _delete_landing_before(landing: Path, oldest_kept: date) -> int:
    deleted = 0
    for folder in sorted(landing.glob("*/dt=*")):
        day = _folder_day(folder.name)
        if folder.is_dir() and day is not None and day < oldest_kept:
            shutil.rmtree(folder)
            deleted += 1
    return deleted


def _folder_day(name: str) -> date | None:
    try:
        return date.fromisoformat(name.removeprefix("dt="))
    except ValueError:
        return None


def _folder_bytes(path: Path) -> int:
    """Bytes of the table's data files on disk, those of earlier versions too (the log aside)."""
    return sum(f.stat().st_size for f in path.rglob("*.parquet") if "_delta_log" not in f.parts)
