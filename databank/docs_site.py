"""The docs site: dbt's own static docs (every model, column and test, and the lineage graph from the
silver sources through staging and intermediate models to the marts and their exposures: dashboard
pages, notebooks, audiences) as one offline HTML file, `<reports>/docs/index.html`.

`dbt docs generate --static` runs within the night's marts build, on the build file before it is
swapped in, so the catalog describes the warehouse being published. It costs a parse and a catalog
query (~15 s on a small warehouse), and the site changes only when the dbt project does: a night
regenerates it when the project's fingerprint differs from the one the site was built from (a
release, a changed model), or when there is no site yet. A failure to build it is reported and does
not hold the night's marts back.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from databank.dbt_runner import DbtRun, MartsBuildError, run_dbt

log = logging.getLogger(__name__)
SITE = "index.html"
FINGERPRINT = "project.sha256"
# What the docs are made of; target/, logs/ and dbt_packages/ are dbt's own output.
PROJECT_PARTS = ("models", "macros", "tests", "seeds", "snapshots", "analyses", "dbt_project.yml")


def docs_folder(reports: Path) -> Path:
    return reports / "docs"


def project_fingerprint(project: Path) -> str:
    """SHA-256 over the project's files, by relative path and content."""
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        path = project / part
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest.update(file.relative_to(project).as_posix().encode() + b"\0")
                digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def publish_docs_site(run: DbtRun, reports: Path) -> str:
    """Regenerate the docs site if the project changed since it was built; say what was done
    (`rebuilt`, `up to date` or `failed: <why>`)."""
    folder = docs_folder(reports)
    fingerprint = project_fingerprint(run.project_dir)
    recorded = folder / FINGERPRINT
    if (folder / SITE).is_file() and recorded.is_file() and recorded.read_text() == fingerprint:
        return "up to date"
    try:
        with _build_results_kept(run.work_dir / "target" / "run_results.json"):
            run_dbt(run, "docs", "generate", "--static")
    except MartsBuildError as error:
        log.warning("the docs site was not rebuilt: %s", error)
        return f"failed: {error}"
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{SITE}.partial"
    shutil.copyfile(run.work_dir / "target" / "static_index.html", partial)
    os.replace(partial, folder / SITE)
    recorded.write_text(fingerprint)
    return "rebuilt"


@contextmanager
def _build_results_kept(results: Path) -> Iterator[None]:
    """run_results.json stays the build's: `docs generate` would leave its own, which lists every node
    compiled and nothing of what the night's models and tests did."""
    kept = results.with_name(f"build.{results.name}")
    if results.is_file():
        os.replace(results, kept)
    try:
        yield
    finally:
        if kept.is_file():
            os.replace(kept, results)
