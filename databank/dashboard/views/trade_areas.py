"""Store trade areas of a brand: its stores on plain coordinates (no map tiles) with their rings, and
each ring's consumers by AIPL state and the potential customers in it."""

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from databank.dashboard import display, queries
from databank.dashboard.context import Filters, require, scope

KM_PER_DEGREE_LATITUDE = 111.32


def render() -> None:
    st.title("Store trade areas")
    warehouse, filters = require("store_trade_areas", "dim_stores")
    scope(filters, city=True)
    areas = queries.trade_areas(warehouse, filters.brand.brand_id, filters.city)
    if areas.empty:
        where = f" in {filters.city}" if filters.city else ""
        st.info(f"No store of {filters.brand.label}{where} has a trade area.", icon=":material/info:")
        return
    _as_of_note(areas, filters)
    stores = _per_store(areas)
    columns = st.columns(3)
    columns[0].metric("Stores", display.count(len(stores)))
    columns[1].metric(
        "Consumers in trade areas",
        display.count(stores["consumers"].sum()),
        help="Summed over stores: a consumer near two stores counts for each.",
    )
    columns[2].metric(
        "Potential customers",
        display.count(stores["potential_customers"].sum()),
        help="In-area consumers in O, A or I who never bought the brand.",
    )
    _store_map(stores, areas)
    _rings_table(areas)


def _as_of_note(areas: pd.DataFrame, filters: Filters) -> None:
    as_of = areas["as_of_date"].max().date()
    note = f"Trade areas as of {as_of}, the latest published night"
    if as_of != filters.day:
        note += " (the mart keeps the latest night only; the day filter does not apply here)"
    st.caption(note + ". Consumers are placed by the home or work LBS places nearer the store.")


def _per_store(areas: pd.DataFrame) -> pd.DataFrame:
    store_columns = ["store_id", "store_name", "city", "store_type", "is_open", "lat", "lon"]
    return (
        areas.groupby(store_columns, as_index=False)
        .agg(consumers=("consumers", "sum"), potential_customers=("potential_customers", "sum"))
        .sort_values("store_id")
    )


def _store_map(stores: pd.DataFrame, areas: pd.DataFrame) -> None:
    figure = go.Figure()
    for ring_km in sorted(areas["ring_outer_km"].unique()):
        lons, lats = _circles(stores, ring_km)
        figure.add_trace(
            go.Scatter(
                x=lons,
                y=lats,
                mode="lines",
                line={"width": 1, "dash": "dot", "color": "#8a8f98"},
                name=f"{ring_km} km ring",
                hoverinfo="skip",
            )
        )
    largest = max(stores["consumers"].max(), 1)
    figure.add_trace(
        go.Scatter(
            x=stores["lon"],
            y=stores["lat"],
            mode="markers+text",
            text=stores["store_name"],
            textposition="top center",
            name="stores",
            marker={
                "size": 12 + 30 * stores["consumers"] / largest,
                "color": stores["potential_customers"],
                "colorscale": "Blues",
                "cmin": 0,
                "cmax": max(stores["potential_customers"].max(), 1),
                "showscale": True,
                "colorbar": {"title": {"text": "potential<br>customers"}},
                "line": {"width": 1, "color": "#334"},
            },
            customdata=np.stack(
                [stores["city"], stores["store_type"], stores["consumers"], stores["potential_customers"]],
                axis=-1,
            ),
            hovertemplate="<b>%{text}</b><br>%{customdata[0]} · %{customdata[1]}"
            "<br>consumers %{customdata[2]:,d}<br>potential customers %{customdata[3]:,d}<extra></extra>",
        )
    )
    # A degree of longitude shrinks with the latitude: stretch y so distances read true.
    stretch = 1 / math.cos(math.radians(stores["lat"].mean()))
    figure.update_xaxes(title="longitude °E", showgrid=True)
    figure.update_yaxes(title="latitude °N", scaleanchor="x", scaleratio=stretch)
    figure.update_layout(title="Stores (size: consumers in the area; colour: potential customers)")
    display.chart(figure, height=520)


def _circles(stores: pd.DataFrame, radius_km: float) -> tuple[list[float | None], list[float | None]]:
    """Outlines of a ring around every store, as one line broken by gaps (None)."""
    angles = np.linspace(0, 2 * np.pi, 73)
    lons: list[float | None] = []
    lats: list[float | None] = []
    dlat = radius_km / KM_PER_DEGREE_LATITUDE
    for lat, lon in zip(stores["lat"], stores["lon"], strict=True):
        dlon = dlat / math.cos(math.radians(lat))
        lons += [*(lon + dlon * np.cos(angles)), None]
        lats += [*(lat + dlat * np.sin(angles)), None]
    return lons, lats


def _rings_table(areas: pd.DataFrame) -> None:
    st.subheader("Consumers per store and ring")
    rings = areas.assign(
        ring=areas["ring_inner_km"].astype(str) + "–" + areas["ring_outer_km"].astype(str) + " km"
    )
    display.table(
        rings,
        {
            "store_name": display.Column("store", "text"),
            "city": display.Column("city", "text"),
            "store_type": display.Column("type", "text"),
            "is_open": display.Column("open", "flag"),
            "ring": display.Column("ring", "text"),
            "consumers": display.Column("consumers"),
            "potential_customers": display.Column("potential customers"),
            "consumers_by_home": display.Column("by home"),
            "consumers_by_work": display.Column("by work"),
            "consumers_o": display.Column("O"),
            "consumers_a": display.Column("A"),
            "consumers_i": display.Column("I"),
            "consumers_p": display.Column("P"),
            "consumers_l": display.Column("L"),
        },
    )


render()
