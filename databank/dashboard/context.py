"""What every page shares: the configuration, the published warehouse and the sidebar's filters.

The entry script builds the context once per run and keeps it in the session; a page reads it with
`current()` and `require()`, which shows why there is nothing to show instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st

from databank.config import Settings, load_settings
from databank.dashboard import queries
from databank.dashboard.queries import Warehouse, WarehouseUnavailableError

CONTEXT_KEY = "databank_context"
ALL_CITIES = "All cities"
FILTER_MARTS = frozenset(
    {"aipl_daily_funnel", "aipl_daily_funnel_by_city", "dim_brands", "dim_stores", "fct_touchpoints"}
)


@dataclass(frozen=True)
class Brand:
    brand_id: str
    name: str | None
    name_en: str | None

    @property
    def label(self) -> str:
        """'山岚 Shanlan (B01)', or the id alone when no dimension names the brand."""
        names = " ".join(name for name in (self.name, self.name_en) if name)
        return f"{names} ({self.brand_id})" if names else self.brand_id


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices; no channel and no city mean all of them."""

    brand: Brand
    day: date
    channels: tuple[str, ...]
    city: str | None
    first_day: date


@dataclass(frozen=True)
class Context:
    settings: Settings
    warehouse: Warehouse | None
    filters: Filters | None
    unavailable: str | None


def build_context() -> Context:
    """Open the published warehouse and draw the filters in the sidebar, or say why there are none."""
    settings = load_settings()
    try:
        warehouse = queries.open_warehouse(settings.warehouse)
        filters = _sidebar_filters(warehouse)
    except WarehouseUnavailableError as reason:
        st.sidebar.caption("Filters appear once a night has been published.")
        return Context(settings=settings, warehouse=None, filters=None, unavailable=str(reason))
    return Context(settings=settings, warehouse=warehouse, filters=filters, unavailable=None)


def _sidebar_filters(warehouse: Warehouse) -> Filters:
    _check_marts(warehouse, FILTER_MARTS)
    days = queries.funnel_days(warehouse)
    if days is None:
        raise WarehouseUnavailableError(
            f"The warehouse {warehouse.path} holds no AIPL funnel day yet: "
            "the first night has not been built."
        )
    first_day, last_day = days
    brands = [Brand(*row) for row in queries.brands(warehouse).itertuples(index=False)]
    by_id = {brand.brand_id: brand for brand in brands}
    with st.sidebar:
        brand_id = st.selectbox("Brand", list(by_id), format_func=lambda key: by_id[key].label, key="brand")
        # keyed on the last day, so the default moves on to a newly published night
        day = st.date_input(
            "Day", value=last_day, min_value=first_day, max_value=last_day, key=f"day-{last_day}"
        )
        channels = st.multiselect(
            "Channel", queries.channels(warehouse), placeholder="All channels", key="channels"
        )
        city = st.selectbox("City", [ALL_CITIES, *queries.cities(warehouse)], key="city")
    return Filters(
        brand=by_id[brand_id],
        day=day or last_day,
        channels=tuple(channels),
        city=None if city == ALL_CITIES else city,
        first_day=first_day,
    )


def _check_marts(warehouse: Warehouse, needed: frozenset[str]) -> None:
    missing = needed - warehouse.marts
    if not warehouse.marts:
        raise WarehouseUnavailableError(f"The warehouse {warehouse.path} holds no marts yet.")
    if missing:
        names = ", ".join(f"marts.{name}" for name in sorted(missing))
        raise WarehouseUnavailableError(
            f"The published warehouse has no {names}: it was built by an earlier version. Rebuild it "
            "with `databank marts --date YYYY-MM-DD --full-refresh`."
        )


def keep(context: Context) -> None:
    st.session_state[CONTEXT_KEY] = context


def current() -> Context:
    return st.session_state[CONTEXT_KEY]


def require(*marts: str) -> tuple[Warehouse, Filters]:
    """The warehouse and filters, once the page's marts are there; otherwise say why and stop the page."""
    context = current()
    try:
        if context.unavailable:
            raise WarehouseUnavailableError(context.unavailable)
        _check_marts(context.warehouse, frozenset(marts))
    except WarehouseUnavailableError as reason:
        st.info(str(reason), icon=":material/info:")
        st.stop()
    return context.warehouse, context.filters


def scope(filters: Filters, *, brand: bool = True, city: bool = False, channel: bool = False) -> None:
    """One line saying what the page shows: the brand, the day, and which filters apply."""
    parts = [f"**{filters.brand.label}**" if brand else "across brands", str(filters.day)]
    if city:
        parts.append(f"city {filters.city}" if filters.city else "all cities")
    else:
        parts.append("across cities")
    if channel:
        parts.append(f"channel {', '.join(filters.channels)}" if filters.channels else "all channels")
    else:
        parts.append("across channels")
    st.caption(" · ".join(parts))
