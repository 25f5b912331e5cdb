"""The AIPL dashboard: a Streamlit app over the published warehouse, served by `databank dashboard`.

`app.py` is the entry script (filters and navigation); each page is a script under `views/` (not
`pages/`, a folder Streamlit takes for its older multipage layout, running a page without the entry
script); `queries.py` holds the SQL. The app reads the configured warehouse file, read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).with_name("app.py")


@dataclass(frozen=True)
class PageSpec:
    """One page of the app: its script (relative to app.py), title and Material icon."""

    script: str
    title: str
    icon: str

    @property
    def url_path(self) -> str:
        return Path(self.script).stem


PAGES = (
    PageSpec("views/funnel.py", "AIPL funnel", ":material/filter_alt:"),
    PageSpec("views/flow.py", "Flow between days", ":material/swap_horiz:"),
    PageSpec("views/fast.py", "FAST health", ":material/monitor_heart:"),
    PageSpec("views/trade_areas.py", "Store trade areas", ":material/storefront:"),
    PageSpec("views/campaigns.py", "Campaigns", ":material/campaign:"),
    PageSpec("views/identification.py", "Identification rate", ":material/fingerprint:"),
    PageSpec("views/audiences.py", "Audiences", ":material/groups:"),
    PageSpec("views/quality.py", "Data quality", ":material/fact_check:"),
)
