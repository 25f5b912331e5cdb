"""The analyst notebooks run top to bottom against the published warehouse of three generated days,
in a kernel on this interpreter (the project's environment), and show what they promise."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
KERNEL = "databank-tests"


@pytest.fixture(scope="module")
def kernel_specs(published, module_tmp) -> KernelSpecManager:
    """One kernel spec, running this interpreter with the published warehouse configured."""
    settings, _ = published
    spec_dir = module_tmp("kernels") / KERNEL
    spec_dir.mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "databank (tests)",
        "language": "python",
        "env": {
            "DATABANK_WAREHOUSE_PATH": str(settings.warehouse),
            # Importing streamlit (the dashboard's tests) sets MPLBACKEND=Agg for the whole process;
            # a kernel started from it would then draw nothing into the notebook.
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        },
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(spec_dir.parent)])


@pytest.fixture(scope="module")
def run(kernel_specs):
    """Execute a notebook once (a cell that raises fails the test with its traceback) and return it."""
    executed: dict[str, nbformat.NotebookNode] = {}

    def execute(name: str) -> nbformat.NotebookNode:
        if name not in executed:
            notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
            manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs)
            assert manager.kernel_spec.argv[0] == sys.executable
            client = NotebookClient(
                notebook, km=manager, timeout=120, resources={"metadata": {"path": str(NOTEBOOKS)}}
            )
            client.execute()
            executed[name] = notebook
        return executed[name]

    return execute


@pytest.fixture(scope="module")
def warehouse(published):
    settings, _ = published
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def brands(warehouse) -> list[str]:
    """Brands with a funnel on the last day built."""
    return first_column(
        warehouse,
        "SELECT brand_id FROM marts.aipl_daily_funnel "
        "WHERE funnel_date = (SELECT max(funnel_date) FROM marts.aipl_daily_funnel)",
    )


def first_column(con, sql: str) -> list:
    return [row[0] for row in con.execute(sql).fetchall()]


def tagged(notebook, tag: str) -> list:
    """Outputs of the cell carrying `tag`."""
    [cell] = [c for c in notebook.cells if tag in c.metadata.get("tags", [])]
    return cell.outputs


def html(outputs) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in outputs)


def printed(outputs) -> str:
    return "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")


def figures(notebook) -> int:
    return sum("image/png" in o.get("data", {}) for cell in notebook.cells for o in cell.get("outputs", []))


def stderr(notebook) -> str:
    return "".join(
        o.text
        for cell in notebook.cells
        for o in cell.get("outputs", [])
        if o.output_type == "stream" and o.name == "stderr"
    )


@pytest.mark.parametrize("name", ["aipl_deep_dive.ipynb", "identity_quality.ipynb", "campaign_effect.ipynb"])
def test_each_notebook_runs_top_to_bottom_without_warnings(run, name):
    notebook = run(name)

    assert all(o.output_type != "error" for cell in notebook.cells for o in cell.get("outputs", []))
    assert stderr(notebook) == ""


def test_aipl_deep_dive_shows_the_funnel_per_brand_and_says_the_week_is_not_there_yet(run, brands):
    notebook = run("aipl_deep_dive.ipynb")

    funnel = html(tagged(notebook, "funnel"))
    assert brands
    assert all(f">{brand_id}</th>" in funnel for brand_id in brands)
    # Three days of history: the day-over-day flow is there, the week-over-week one is explained away.
    assert any("image/png" in o.get("data", {}) for o in tagged(notebook, "daily-flow"))
    assert "No 7-day flow" in printed(tagged(notebook, "weekly-flow"))
    fast = html(tagged(notebook, "fast"))
    assert all(f">{brand_id}</th>" in fast for brand_id in brands)
    assert figures(notebook) >= 5


def test_identity_quality_shows_each_feed_and_the_asset_identified(run, warehouse, brands):
    notebook = run("identity_quality.ipynb")
    feeds = first_column(warehouse, "SELECT DISTINCT source_feed FROM marts.identity_resolution_daily")

    rates = html(tagged(notebook, "identification-rate"))
    assert {"all", "online_orders", "pos_transactions"} <= set(feeds)
    assert all(f">{feed}</th>" in rates for feed in feeds)
    asset = html(tagged(notebook, "asset-identified"))
    assert all(f">{brand_id}</td>" in asset for brand_id in brands)
    merges = tagged(notebook, "merges")
    assert any("image/png" in o.get("data", {}) for o in merges) or "No one_id" in printed(merges)
    assert figures(notebook) >= 4


def test_campaign_effect_shows_every_campaign_and_its_lift(run, warehouse):
    notebook = run("campaign_effect.ipynb")
    campaigns = first_column(warehouse, "SELECT campaign_id FROM marts.campaign_performance")

    effect = html(tagged(notebook, "campaign-effect"))
    assert campaigns
    assert all(f">{campaign_id}</th>" in effect for campaign_id in campaigns)
    assert "Attribution windows still open" in printed(tagged(notebook, "campaign-effect"))
    assert "coupon_redemption_rate" in html(tagged(notebook, "offers"))
    assert figures(notebook) >= 3
