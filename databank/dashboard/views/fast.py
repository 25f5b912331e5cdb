"""FAST consumer-operation health of a brand over time: fertility (asset total), advancing
(weekly deepening), superiority (active members) and thriving (members with deeper behaviours)."""

from datetime import timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from databank.dashboard import display, queries
from databank.dashboard.context import require, scope

COMPARED_DAYS = 7
MEASURES = (
    ("asset_consumers", "F fertility", "count", "Consumers in A, I, P or L on the day."),
    (
        "advancing_rate",
        "A advancing",
        "percent",
        "Consumers deeper than 7 days before (entrants included) over consumers with a state then; "
        "can exceed 100%.",
    ),
    ("active_members", "S superiority", "count", "Active members of the brand."),
    (
        "thriving_rate",
        "T thriving",
        "percent",
        "Share of active members with an Interest, Purchase or Loyalty behaviour in the last 180 days.",
    ),
)


def render() -> None:
    st.title("FAST health")
    warehouse, filters = require("brand_fast_daily")
    scope(filters)
    history = queries.fast_history(warehouse, filters.brand.brand_id, filters.day)
    today = queries.row_on(history, "fast_date", filters.day)
    if today is None:
        st.info(f"No FAST figures of {filters.brand.label} on {filters.day}.", icon=":material/info:")
        return
    week_before = queries.row_on(history, "fast_date", filters.day - timedelta(days=COMPARED_DAYS))
    for column, (name, label, kind, help_text) in zip(st.columns(4), MEASURES, strict=True):
        before = None if week_before is None else week_before[name]
        if kind == "count":
            value, change = display.count(today[name]), display.count_change(today[name], before)
        else:
            value, change = display.percent(today[name]), display.rate_change(today[name], before)
        column.metric(label, value, change, help=help_text)
    st.caption(
        f"Changes are against {filters.day - timedelta(days=COMPARED_DAYS)}."
        if week_before is not None
        else "No comparison: no FAST figures 7 days before."
    )
    left, right = st.columns(2)
    for index, (name, label, kind, _) in enumerate(MEASURES):
        with left if index % 2 == 0 else right:
            _trend(history, name, label, kind)


def _trend(history: pd.DataFrame, name: str, label: str, kind: str) -> None:
    figure = px.line(history, x="fast_date", y=name, markers=True, title=label, labels={"fast_date": "day"})
    ticks = display.count_ticks(history[name].max()) if kind == "count" else {"tickformat": ".1%"}
    figure.update_xaxes(**display.day_ticks(len(history)))
    figure.update_yaxes(title=None, rangemode="tozero", **ticks)
    display.chart(figure, height=280)


render()
