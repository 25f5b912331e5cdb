"""Identification rate: per feed and day, the share of records resolved to a consumer who holds a
person-level identifier (phone, member id, account id)."""

from datetime import timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from databank.dashboard import display, queries
from databank.dashboard.context import Filters, require, scope

ALL_FEEDS = "all"
COMPARED_DAYS = 7


def render() -> None:
    st.title("Identification rate")
    warehouse, filters = require("identity_resolution_daily", "fct_touchpoints")
    scope(filters, brand=False, channel=True)
    rates = queries.identification(warehouse, filters.day, list(filters.channels))
    if rates.empty:
        st.info(f"No identification figures up to {filters.day} for these channels.", icon=":material/info:")
        return
    feeds = rates[rates["source_feed"] != ALL_FEEDS]
    _day_metrics(feeds, filters)
    if filters.channels:
        st.caption(
            "Feeds whose touchpoints come through the chosen channels; CRM members and the all-feeds "
            "line belong to no channel and show with all channels."
        )
    _trend(rates)
    _day_table(rates, filters)


def _day_metrics(feeds: pd.DataFrame, filters: Filters) -> None:
    today = _totals(feeds, filters.day)
    before = _totals(feeds, filters.day - timedelta(days=COMPARED_DAYS))
    columns = st.columns(3)
    columns[0].metric(
        "Identification rate",
        display.percent(today["identification"]),
        display.rate_change(today["identification"], before["identification"]),
        help="Records whose consumer holds a phone, member id or account id, over all records.",
    )
    columns[1].metric(
        "Resolution rate",
        display.percent(today["resolution"]),
        display.rate_change(today["resolution"], before["resolution"]),
        help="Records resolved to any consumer, over all records.",
    )
    columns[2].metric(
        "Records", display.count(today["records"]), display.count_change(today["records"], before["records"])
    )
    compared = filters.day - timedelta(days=COMPARED_DAYS)
    st.caption(f"Records of {filters.day} in the shown feeds; changes against {compared}.")


def _totals(feeds: pd.DataFrame, day) -> dict[str, float | None]:
    rows = feeds[feeds["record_date"] == pd.Timestamp(day)]
    records = rows["records"].sum()
    if not records:
        return {"records": None, "identification": None, "resolution": None}
    return {
        "records": records,
        "identification": rows["person_identified_records"].sum() / records,
        "resolution": rows["resolved_records"].sum() / records,
    }


def _trend(rates: pd.DataFrame) -> None:
    figure = px.line(
        rates,
        x="record_date",
        y="identification_rate",
        color="source_feed",
        markers=True,
        labels={
            "record_date": "day of the records",
            "identification_rate": "identification rate",
            "source_feed": "",
        },
        title="Identification rate per feed, day by day",
    )
    figure.update_xaxes(**display.day_ticks(rates["record_date"].nunique()))
    figure.update_yaxes(tickformat=".0%", range=[0, 1.05])
    display.chart(figure, height=360)


def _day_table(rates: pd.DataFrame, filters: Filters) -> None:
    st.subheader(f"Feeds on {filters.day}")
    day = rates[rates["record_date"] == pd.Timestamp(filters.day)]
    if day.empty:
        st.info(f"No records dated {filters.day}.", icon=":material/info:")
        return
    display.table(
        day,
        {
            "source_feed": display.Column("feed", "text"),
            "channels": display.Column("channels", "text"),
            "records": display.Column("records"),
            "resolved_records": display.Column("resolved"),
            "person_identified_records": display.Column("person identified"),
            "resolution_rate": display.Column("resolution rate", "percent"),
            "identification_rate": display.Column("identification rate", "percent"),
        },
    )


render()
