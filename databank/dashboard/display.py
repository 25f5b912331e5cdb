"""Numbers, tables and charts for people: thousands separators, percentages with one decimal, money
in the brand's currency (Babel's symbols), the AIPL states' colours, and plotly defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol

MISSING = "—"
LOCALE = "en"  # the dashboard speaks English; a currency's symbol is the one English readers know
STATE_NAMES = {
    "none": "none",
    "O": "O opportunity",
    "A": "A awareness",
    "I": "I interest",
    "P": "P purchase",
    "L": "L loyalty",
}
STATE_COLOURS = {
    "none": "#b0b4ba",
    "O": "#c7dcef",
    "A": "#7fb3e0",
    "I": "#3b7fc4",
    "P": "#f29e4c",
    "L": "#2a9d6f",
}
DAY_MS = 24 * 60 * 60 * 1000
MOST_TICKS = 10
CHANNEL_COLOURS = {"online": "#3b7fc4", "store": "#2a9d6f", "media": "#f29e4c"}
ColumnKind = Literal["text", "count", "decimal", "percent", "money", "flag"]


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def count(value: float | None) -> str:
    """1234567 -> '1,234,567'."""
    return MISSING if _missing(value) else f"{round(value):,}"


def percent(value: float | None) -> str:
    """0.2061 -> '20.6%'."""
    return MISSING if _missing(value) else f"{value:.1%}"


def money(value: float | None, currency: str) -> str:
    """1041.69 in CNY -> 'CN¥1,041.69'; in USD -> '$1,041.69'."""
    return MISSING if _missing(value) else format_currency(value, currency, locale=LOCALE)


def count_change(now: float | None, before: float | None) -> str | int | None:
    """A metric's delta: '+1,234' or '-56'; 0 (shown grey, without an arrow) when unchanged; None (no
    delta) when either side is missing."""
    if _missing(now) or _missing(before):
        return None
    change = round(now) - round(before)
    return f"{change:+,}" if change else 0


def rate_change(now: float | None, before: float | None) -> str | int | None:
    """Change of a rate in percentage points, e.g. '+1.2 pp'; 0 when it rounds to none."""
    if _missing(now) or _missing(before):
        return None
    points = round((now - before) * 100, 1)
    return f"{points:+.1f} pp" if points else 0


@dataclass(frozen=True)
class Column:
    """How a table shows one column: its heading and the kind of number it holds."""

    label: str
    kind: ColumnKind = "count"
    help: str | None = None


def table(frame: pd.DataFrame, columns: dict[str, Column], currency: str | None = None) -> None:
    """Show `frame`'s named columns, in that order, under people's headings and number formats; money
    columns in `currency`."""
    shown = frame[list(columns)].copy()
    config = {}
    for name, column in columns.items():
        if column.kind == "percent":
            # printf formats cannot scale, so rates are shown as percentages of 100
            shown[name] = shown[name] * 100
        config[name] = _column_config(column, currency)
    st.dataframe(shown, hide_index=True, column_config=config, width="stretch", placeholder=MISSING)


def _column_config(column: Column, currency: str | None):
    number_formats = {"count": "%,d", "decimal": "%,.2f", "percent": "%.1f%%"}
    if column.kind == "money":
        if currency is None:
            raise ValueError(f"the money column {column.label!r} needs the table's currency")
        symbol = get_currency_symbol(currency, locale=LOCALE).replace("%", "%%")
        number_formats["money"] = f"{symbol}%,.{get_currency_precision(currency)}f"  # no cents in JPY
    if column.kind in number_formats:
        return st.column_config.NumberColumn(
            column.label, format=number_formats[column.kind], help=column.help
        )
    if column.kind == "flag":
        return st.column_config.CheckboxColumn(column.label, help=column.help)
    return st.column_config.TextColumn(column.label, help=column.help)


def count_ticks(largest: float) -> dict[str, object]:
    """Axis ticks for counts: whole numbers with thousands separators, never 0.5 of a consumer."""
    return {"tickformat": ",d", "dtick": 1} if largest <= MOST_TICKS / 2 else {"tickformat": ",d"}


def day_ticks(days: int) -> dict[str, object]:
    """Axis ticks on whole days, about ten at most, however few days there are."""
    return {"dtick": DAY_MS * max(1, math.ceil(days / MOST_TICKS))}


def chart(figure: go.Figure, height: int = 380) -> None:
    """A plotly figure with the app's margins and legend, drawn by Streamlit's bundled plotly.js."""
    # room above the plot for the title and, under it, the legend, so the two never overlap
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 84, "b": 10},
        title={"y": 0.98, "yref": "container", "yanchor": "top"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    st.plotly_chart(figure, width="stretch", config={"displaylogo": False})
