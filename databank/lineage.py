"""Lineage of the nightly run: what each task of the DAG reads and writes, and where Airflow's
OpenLineage provider sends it.

Each task declares its inputs and outputs as Airflow Assets (`inlets`/`outlets`): landing folder ->
bronze and quarantine (ingest) -> silver and the identifier sightings (standardise) -> OneID's tables
(identity) -> every mart's gold table (the marts build, which reads the silver tables the dbt
project declares as sources). The OpenLineage provider turns them into the inputs and outputs of a
START and a COMPLETE (or FAIL) event per task run, so a lineage server draws the whole chain, and
Airflow's asset view shows the same graph. Events hold names, paths, times and states, never a row.

Where the events go is `databank.lineage_settings` (`[lineage]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from airflow.sdk import Asset

from databank.contracts import load_contract

# OneID's tables in silver, as spark_jobs.resolve_identity and spark_jobs.standardise name them (the
# DAG is parsed without importing Spark; a test holds these names to theirs).
IDENTIFIERS_TABLE = "identifiers"
IDENTITY_TABLES = ("identity_edges", "identity_pairs", "identity_guards", "identity_map", "one_id_history")


@dataclass(frozen=True)
class TaskLineage:
    inlets: list[Asset]
    outlets: list[Asset]

    def arguments(self) -> dict[str, list[Asset]]:
        """As an operator's keyword arguments."""
        return {"inlets": self.inlets, "outlets": self.outlets}


def table_asset(lakehouse: Path, layer: str, table: str) -> Asset:
    """A lakehouse Delta table as an Asset named `databank.<layer>.<table>`."""
    path = (lakehouse / layer / table).resolve()
    return Asset(name=f"databank.{layer}.{table}", uri=path.as_uri(), group=f"databank_{layer}")


def landing_asset(landing: Path, feed: str) -> Asset:
    """A feed's landing folder (every day's deliveries under it) as an Asset."""
    uri = (landing / feed).resolve().as_uri()
    return Asset(name=f"databank.landing.{feed}", uri=uri, group="databank_landing")


def ingest_lineage(landing: Path, lakehouse: Path, feed: str) -> TaskLineage:
    return TaskLineage(
        [landing_asset(landing, feed)],
        [table_asset(lakehouse, "bronze", feed), table_asset(lakehouse, "quarantine", feed)],
    )


def standardise_lineage(lakehouse: Path, feed: str) -> TaskLineage:
    outlets = [table_asset(lakehouse, "silver", feed)]
    if load_contract(feed).identifier_columns:
        outlets.append(table_asset(lakehouse, "silver", IDENTIFIERS_TABLE))
    return TaskLineage([table_asset(lakehouse, "bronze", feed)], outlets)


def identity_lineage(lakehouse: Path) -> TaskLineage:
    return TaskLineage(
        [table_asset(lakehouse, "silver", IDENTIFIERS_TABLE)],
        [table_asset(lakehouse, "silver", table) for table in IDENTITY_TABLES],
    )


def marts_inlets(lakehouse: Path, project_dir: Path) -> list[Asset]:
    """The silver tables the marts read: the dbt project's sources (read without dbt)."""
    return [table_asset(lakehouse, "silver", table) for table in silver_sources(project_dir)]


def silver_sources(project_dir: Path) -> list[str]:
    # Sources are declared in `_<area>__sources.yml` files (the project's layout); reading only those
    # keeps the DAG's parse short.
    tables: set[str] = set()
    for path in sorted((project_dir / "models").rglob("*__sources.yml")):
        for source in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("sources", []):
            if source.get("schema") == "silver":
                tables |= {table["name"] for table in source.get("tables", [])}
    return sorted(tables)
