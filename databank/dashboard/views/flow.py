"""Flow of a brand's consumers between two days: where each state at d0 went by d1 (Sankey), and
the flow metrics per state."""

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from databank.audiences.definition import AudienceError, flow_cell_audience, save_definition
from databank.config import load_settings
from databank.dashboard import display, queries
from databank.dashboard.context import require, scope

STATE_ORDER = ("none", "O", "A", "I", "P", "L")
PREFERRED_LAG = 7
PURPOSES = ("marketing", "ad_targeting")


def render() -> None:
    st.title("Flow between days")
    warehouse, filters = require("aipl_flow", "aipl_flow_metrics")
    scope(filters)
    starts = queries.flow_starts(warehouse, filters.brand.brand_id, filters.day)
    if starts.empty:
        st.info(f"No flow of {filters.brand.label} ends on {filters.day}.", icon=":material/info:")
        return
    d0 = _choose_start(starts)
    st.caption(
        f"From {d0} to {filters.day}: the flow mart pairs each day with the days "
        f"{', '.join(str(lag) for lag in starts['lag_days'])} days before it; the later day is the sidebar's."
    )
    flow = queries.flow(warehouse, filters.brand.brand_id, d0, filters.day)
    if flow.empty:
        st.info("No consumer held a state on either day.", icon=":material/info:")
        return
    _sankey(flow, d0, filters.day)
    _metrics(queries.flow_metrics(warehouse, filters.brand.brand_id, d0, filters.day))
    _save_cell(filters.brand.brand_id, (filters.day - d0).days)


def _choose_start(starts: pd.DataFrame) -> date:
    lags = dict(zip(starts["d0"].dt.date, starts["lag_days"], strict=True))
    options = list(lags)
    preferred = next((i for i, lag in enumerate(lags.values()) if lag == PREFERRED_LAG), 0)
    return st.radio(
        "Compare with",
        options,
        index=preferred,
        format_func=lambda d0: f"{d0} ({lags[d0]} day{'' if lags[d0] == 1 else 's'} before)",
        horizontal=True,
        key="flow_start",
    )


def _sankey(flow: pd.DataFrame, d0: date, d1: date) -> None:
    states_d0 = [s for s in STATE_ORDER if s in set(flow["state_d0"])]
    states_d1 = [s for s in STATE_ORDER if s in set(flow["state_d1"])]
    nodes = [(d0, s) for s in states_d0] + [(d1, s) for s in states_d1]
    index = {node: i for i, node in enumerate(nodes)}
    link_colours = {1: "rgba(42,157,111,0.45)", 0: "rgba(160,160,160,0.35)", -1: "rgba(214,69,65,0.45)"}
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            valueformat=",d",
            node={
                "label": [f"{display.STATE_NAMES[s]} · {day}" for day, s in nodes],
                "color": [display.STATE_COLOURS[s] for _, s in nodes],
                "pad": 14,
            },
            link={
                "source": [index[(d0, s)] for s in flow["state_d0"]],
                "target": [index[(d1, s)] for s in flow["state_d1"]],
                "value": flow["consumers"].tolist(),
                "color": [link_colours[(change > 0) - (change < 0)] for change in flow["rank_change"]],
            },
        )
    )
    figure.update_layout(
        title=f"Consumers by state on {d0} (left) and {d1} (right): green deeper, red shallower"
    )
    display.chart(figure, height=460)


def _save_cell(brand_id: str, lag_days: int) -> None:
    """A cell of this flow saved as an audience definition, to size, export or sync from the command line."""
    with st.expander("Save a cell of this flow as an audience"), st.form("save_flow_cell"):
        from_state = st.selectbox("State at d0", STATE_ORDER, index=STATE_ORDER.index("I"), key="cell_d0")
        to_state = st.selectbox("State at d1", STATE_ORDER, index=STATE_ORDER.index("P"), key="cell_d1")
        name = st.text_input("Audience name (letters, digits, _ and -)", key="cell_name")
        purpose = st.radio("Purpose", PURPOSES, horizontal=True, key="cell_purpose")
        if not st.form_submit_button("Save"):
            return
        description = f"{from_state} -> {to_state} over {lag_days} days, saved from the dashboard's flow page"
        try:
            definition = flow_cell_audience(brand_id, purpose, from_state, to_state, lag_days, description)
            path = save_definition(load_settings().audiences.folder, name, definition)
        except AudienceError as error:
            st.error(str(error))
            return
        st.success(f"Saved to {path}: `databank audience size {name}`, then export or sync it.")


def _metrics(metrics: pd.DataFrame) -> None:
    st.subheader("Flow metrics per state at d0")
    if metrics.empty:
        st.info("No flow metrics for these days.", icon=":material/info:")
        return
    metrics = metrics.assign(state=metrics["state"].map(display.STATE_NAMES))
    display.table(
        metrics,
        {
            "state": display.Column("state", "text"),
            "consumers_d0": display.Column("at d0"),
            "stayed": display.Column("stayed"),
            "converted_up": display.Column("moved deeper"),
            "converted_down": display.Column("moved shallower"),
            "churned": display.Column("churned to none"),
            "new_inflow": display.Column("new from none"),
            "next_layer_rate": display.Column(
                "next-layer flow rate",
                "percent",
                "In the state at d0 and in the next layer at d1, over the state at d0.",
            ),
        },
    )


render()
