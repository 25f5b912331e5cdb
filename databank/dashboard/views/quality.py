"""Data quality: the latest run day's failed expectations first, then failures per day.

Results come from the quality gates' own store (`databank.quality.results`), not the warehouse: a
night that fails a gate publishes nothing, so its results can be newer than the published marts.
"""

import pandas as pd
import plotly.express as px
import streamlit as st

from databank.config import Settings
from databank.dashboard import display
from databank.dashboard.context import current

SEVERITIES = ("critical", "warning")
STAGES = ("bronze", "silver", "gold")
TREND_DAYS = 30


def render() -> None:
    st.title("Data quality")
    st.caption(
        "Expectations checked at every stage of the nightly runs, across brands, cities and channels. "
        "The latest run day is shown whatever the sidebar's day."
    )
    results = _read(current().settings)
    if results is None or results.empty:
        st.info(
            "No quality results yet: they appear once a nightly run has checked its data.",
            icon=":material/info:",
        )
        return
    latest_day = results["run_date"].max()
    _latest_day(results[results["run_date"] == latest_day], latest_day.date())
    _trend(results)


def _read(settings: Settings) -> pd.DataFrame | None:
    """Every stored result (each day's last verdict per check), or None without the results module."""
    try:
        from databank.quality.results import read_results
    except ImportError:
        return None
    frame = read_results(settings).to_pandas()
    return frame.assign(run_date=pd.to_datetime(frame["run_date"]))


def _latest_day(latest: pd.DataFrame, day) -> None:
    failed = latest[~latest["success"].astype(bool)]
    columns = st.columns(3)
    columns[0].metric("Checks on the latest run day", display.count(len(latest)))
    for column, severity in zip(columns[1:], SEVERITIES, strict=True):
        column.metric(f"Failed, {severity}", display.count((failed["severity"] == severity).sum()))
    st.subheader(f"Failures of {day}")
    if failed.empty:
        st.success(f"Every check of {day} passed.", icon=":material/check_circle:")
    else:
        ordered = failed.assign(
            severity_rank=failed["severity"].map({s: i for i, s in enumerate(SEVERITIES)}),
            stage_rank=failed["stage"].map({s: i for i, s in enumerate(STAGES)}),
        ).sort_values(["severity_rank", "stage_rank", "suite", "asset", "expectation"])
        _checks_table(ordered)
    with st.expander(f"Every check of {day}"):
        _checks_table(latest.sort_values(["success", "stage", "suite", "asset", "expectation"]))


def _checks_table(checks: pd.DataFrame) -> None:
    display.table(
        checks.assign(
            observed_value=checks["observed_value"].fillna("").astype(str),
            details=checks["details"].fillna("").astype(str),
        ),
        {
            "severity": display.Column("severity", "text"),
            "stage": display.Column("stage", "text"),
            "suite": display.Column("suite", "text"),
            "asset": display.Column("asset", "text"),
            "expectation": display.Column("expectation", "text"),
            "success": display.Column("passed", "flag"),
            "observed_value": display.Column("observed", "text"),
            "unexpected_count": display.Column("unexpected rows"),
            "details": display.Column("details", "text"),
        },
    )


def _trend(checks: pd.DataFrame) -> None:
    days = sorted(checks["run_date"].unique())[-TREND_DAYS:]
    recent = checks[checks["run_date"].isin(days)]
    failures = (
        recent.assign(failed=~recent["success"].astype(bool))
        .groupby(["run_date", "severity"], as_index=False)["failed"]
        .sum()
    )
    figure = px.bar(
        failures,
        x="run_date",
        y="failed",
        color="severity",
        color_discrete_map={"critical": "#d64541", "warning": "#f2b134"},
        category_orders={"severity": list(SEVERITIES)},
        labels={"run_date": "run day", "failed": "failed checks", "severity": ""},
        title=f"Failed checks per run day (last {TREND_DAYS} run days)",
    )
    figure.update_xaxes(type="date", **display.day_ticks(len(days)))
    most_in_a_day = failures.groupby("run_date")["failed"].sum().max()
    figure.update_yaxes(rangemode="tozero", **display.count_ticks(most_in_a_day))
    display.chart(figure, height=320)


render()
