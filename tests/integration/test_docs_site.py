"""The docs site the marts build publishes: dbt's static docs, opened in headless Chromium, show the
lineage of the AIPL funnel from the state history down to the dashboard page and notebook that read it."""

from __future__ import annotations

import json

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

LINEAGE_BUTTON = 'a[title="View Lineage Graph"]'
# The ids of the nodes the lineage graph draws (cytoscape keeps its instance on its container).
GRAPH_NODES = """
const container = document.querySelector('#cy');
const graph = container && container._cyreg && container._cyreg.cy;
return graph && graph.nodes().length ? graph.nodes().map(node => node.id()) : null;
"""


def test_the_funnels_lineage_runs_from_the_state_history_to_its_readers(published, browser):
    settings, result = published
    site = settings.reports / "docs" / "index.html"
    assert result.docs_site == "rebuilt"
    # dbt's run results stay those of the night's build, not of `docs generate`, which compiles
    # every node and runs none
    run_results = json.loads((settings.reports / "dbt" / "target" / "run_results.json").read_text())
    assert run_results["args"]["which"] == "build"

    browser.get(site.as_uri() + "#!/model/model.databank.aipl_daily_funnel")
    wait = WebDriverWait(browser, 60)
    wait.until(lambda page: page.find_elements(By.CSS_SELECTOR, LINEAGE_BUTTON))[0].click()
    nodes = set(wait.until(lambda page: page.execute_script(GRAPH_NODES)))

    assert {
        "model.databank.aipl_state_history",
        "model.databank.aipl_daily_funnel",
        "exposure.databank.dashboard_funnel",
        "exposure.databank.notebook_aipl_deep_dive",
    } <= nodes
