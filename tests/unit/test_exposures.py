"""The dbt exposures name exactly the marts each reader reads, so the docs site's lineage reaches the
dashboard pages, the notebooks and the audience commands without drifting from the code."""

import re
from pathlib import Path

import pytest
import yaml

from databank.dashboard import PAGES
from databank.dbt_project import find_dbt_project

ROOT = Path(__file__).resolve().parents[2]
REF = re.compile(r"ref\('([a-z0-9_]+)'\)")
TABLE = re.compile(r"\b(?:marts|intermediate|staging)\.([a-z][a-z0-9_]+)")


def _exposures() -> dict[str, set[str]]:
    content = yaml.safe_load((find_dbt_project() / "models" / "exposures.yml").read_text(encoding="utf-8"))
    return {
        exposure["name"]: {REF.fullmatch(ref).group(1) for ref in exposure["depends_on"]}
        for exposure in content["exposures"]
    }


def _page_reads(script: str) -> set[str]:
    source = (ROOT / "databank" / "dashboard" / script).read_text(encoding="utf-8")
    calls = re.findall(r"require\(([^)]*)\)", source)
    return {name for call in calls for name in re.findall(r'"([a-z_]+)"', call)}


@pytest.mark.parametrize("page", [p for p in PAGES if _page_reads(p.script)], ids=lambda p: p.url_path)
def test_each_dashboard_page_is_an_exposure_of_the_marts_it_requires(page):
    assert _exposures()[f"dashboard_{page.url_path}"] == _page_reads(page.script)


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_each_notebook_is_an_exposure_of_the_marts_it_queries(notebook):
    assert _exposures()[f"notebook_{notebook.stem}"] == set(
        TABLE.findall(notebook.read_text(encoding="utf-8"))
    )


def test_the_audience_commands_are_an_exposure_of_every_model_they_query():
    sources = [*(ROOT / "databank" / "audiences").glob("*.py"), *(ROOT / "databank" / "reach").glob("*.py")]
    read = {name for path in sources for name in TABLE.findall(path.read_text(encoding="utf-8"))}
    assert _exposures()["audiences"] == read
