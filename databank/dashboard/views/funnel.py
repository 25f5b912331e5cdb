"""AIPL funnel of a brand on a day: consumers per state, next-layer rates, the same day a week
before, the funnel over time, and the day's behaviours by channel."""

from datetime import timedelta

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from databank.dashboard import display, queries
from databank.dashboard.context import Filters, require, scope
from databank.dashboard.queries import Warehouse

LAYERS = ("A", "I", "P", "L")
RATES = {"rate_a_to_i": "A → I", "rate_i_to_p": "I → P", "rate_p_to_l": "P → L"}
COMPARED_DAYS = 7


def render() -> None:
    st.title("AIPL funnel")
    warehouse, filters = require("aipl_daily_funnel", "aipl_daily_funnel_by_city", "fct_touchpoints")
    scope(filters, city=True)
    history = queries.funnel_history(warehouse, filters.brand.brand_id, filters.day, filters.city)
    today = queries.row_on(history, "funnel_date", filters.day)
    if today is None:
        where = f" in {filters.city}" if filters.city else ""
        st.info(f"No funnel of {filters.brand.label}{where} on {filters.day}.", icon=":material/info:")
        return
    week_before = queries.row_on(history, "funnel_date", filters.day - timedelta(days=COMPARED_DAYS))
    _state_metrics(today, week_before)
    _comparison_note(filters, week_before)
    _funnel_chart(today)
    if len(history) > 1:
        _trend_chart(history)
    _touchpoints(warehouse, filters)


def _before(row: pd.Series | None, column: str):
    return None if row is None else row[column]


def _state_metrics(today: pd.Series, week_before: pd.Series | None) -> None:
    columns = st.columns(5)
    for column, state in zip(columns[:4], LAYERS, strict=True):
        name = f"consumers_{state.lower()}"
        column.metric(
            display.STATE_NAMES[state],
            display.count(today[name]),
            display.count_change(today[name], _before(week_before, name)),
        )
    columns[4].metric(
        "F asset total",
        display.count(today["asset_total"]),
        display.count_change(today["asset_total"], _before(week_before, "asset_total")),
        help="A + I + P + L; O is never part of it.",
    )
    rate_columns = st.columns(5)
    for column, (name, label) in zip(rate_columns[:3], RATES.items(), strict=True):
        column.metric(
            f"Next-layer rate {label}",
            display.percent(today[name]),
            display.rate_change(today[name], _before(week_before, name)),
            help="Consumers in the layer over consumers in the layer above it, the same day.",
        )
    if today["consumers_o"]:
        rate_columns[4].metric("O opportunity (not in F)", display.count(today["consumers_o"]))


def _comparison_note(filters: Filters, week_before: pd.Series | None) -> None:
    compared = filters.day - timedelta(days=COMPARED_DAYS)
    if week_before is not None:
        st.caption(f"Changes are against {compared}, {COMPARED_DAYS} days before.")
    elif compared < filters.first_day:
        st.caption(f"No comparison: {compared} is before the first published day, {filters.first_day}.")
    else:
        st.caption(f"No comparison: the funnel has no row on {compared}.")


def _funnel_chart(today: pd.Series) -> None:
    counts = [today[f"consumers_{state.lower()}"] for state in LAYERS]
    rates = [None, *(today[name] for name in RATES)]
    figure = go.Figure(
        go.Funnel(
            y=[display.STATE_NAMES[state] for state in LAYERS],
            x=counts,
            text=[
                display.count(n) if rate is None else f"{display.count(n)} · {display.percent(rate)}"
                for n, rate in zip(counts, rates, strict=True)
            ],
            textinfo="text",
            hoverinfo="y+text",
            marker={"color": [display.STATE_COLOURS[state] for state in LAYERS]},
        )
    )
    figure.update_layout(title="Consumers per state (count · next-layer rate)")
    display.chart(figure, height=340)


def _trend_chart(history: pd.DataFrame) -> None:
    long = history.melt(
        id_vars="funnel_date",
        value_vars=[f"consumers_{state.lower()}" for state in LAYERS],
        var_name="state",
        value_name="consumers",
    )
    long["state"] = long["state"].str[-1].str.upper().map(display.STATE_NAMES)
    figure = px.area(
        long,
        x="funnel_date",
        y="consumers",
        color="state",
        color_discrete_map={display.STATE_NAMES[s]: display.STATE_COLOURS[s] for s in LAYERS},
        labels={"funnel_date": "day", "consumers": "consumers", "state": ""},
        title="Consumers per state, day by day",
    )
    figure.update_xaxes(**display.day_ticks(len(history)))
    figure.update_yaxes(**display.count_ticks(history["asset_total"].max()))
    display.chart(figure, height=320)


def _touchpoints(warehouse: Warehouse, filters: Filters) -> None:
    st.subheader("The day's behaviours by channel")
    touches = queries.touchpoints_by_channel(
        warehouse, filters.brand.brand_id, filters.day, list(filters.channels)
    )
    chosen = ", ".join(filters.channels) if filters.channels else "all channels"
    st.caption(f"Touchpoints of {filters.brand.label} on {filters.day}, {chosen}, every city.")
    if touches.empty:
        st.info("No touchpoint of the brand that day in the chosen channels.", icon=":material/info:")
        return
    figure = px.bar(
        touches,
        x="touches",
        y="behaviour",
        color="channel",
        color_discrete_map=display.CHANNEL_COLOURS,
        orientation="h",
        hover_data={"consumers": ":,d", "touches": ":,d"},
        labels={"touches": "touchpoints", "behaviour": ""},
    )
    figure.update_xaxes(**display.count_ticks(touches.groupby("behaviour")["touches"].sum().max()))
    figure.update_yaxes(categoryorder="total ascending")
    display.chart(figure, height=max(260, 28 * touches["behaviour"].nunique() + 80))


render()
