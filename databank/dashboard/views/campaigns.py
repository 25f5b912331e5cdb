"""Campaign performance of a brand: delivery, reach, consumers moved into I or P against a control
group, cost per incremental consumer, coupon and sample conversion."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from databank.dashboard import display, queries
from databank.dashboard.context import Filters, current, require, scope


def render() -> None:
    st.title("Campaigns")
    warehouse, filters = require("campaign_performance", "dim_campaigns", "fct_touchpoints")
    scope(filters, channel=True)
    results = queries.campaigns(warehouse, filters.brand.brand_id, list(filters.channels))
    if results.empty:
        chosen = f" through {', '.join(filters.channels)}" if filters.channels else ""
        st.info(f"No campaign of {filters.brand.label}{chosen} has results.", icon=":material/info:")
        return
    _as_of_note(results, filters)
    _totals(results)
    _move_rates(results)
    _results_table(results)


def _as_of_note(results: pd.DataFrame, filters: Filters) -> None:
    as_of = results["as_of_date"].max().date()
    note = f"Results counted up to {as_of}, the latest published night"
    if as_of != filters.day:
        note += " (the mart keeps the latest night only; the day filter does not apply here)"
    st.caption(note + ". A campaign's channels are those its touchpoints came through.")


def _totals(results: pd.DataFrame) -> None:
    claimed, redeemed = results["coupons_claimed"].sum(), results["coupons_redeemed"].sum()
    columns = st.columns(4)
    columns[0].metric("Campaigns", display.count(len(results)))
    columns[1].metric("Media cost", display.money(results["cost"].sum(), current().settings.currency))
    columns[2].metric(
        "Incremental consumers moved into I or P",
        display.count(results["incremental_moved_consumers"].sum(min_count=1)),
        help="Exposed consumers moved beyond what the control group's rate predicts, summed over campaigns.",
    )
    columns[3].metric("Coupon redemption", display.percent(redeemed / claimed if claimed else None))


def _move_rates(results: pd.DataFrame) -> None:
    labels = results["campaign_name"].fillna(results["campaign_id"])
    figure = go.Figure(
        [
            go.Bar(name="exposed", x=labels, y=results["exposed_move_rate"], marker_color="#3b7fc4"),
            go.Bar(name="control", x=labels, y=results["control_move_rate"], marker_color="#b0b4ba"),
        ]
    )
    figure.update_yaxes(tickformat=".1%", title="moved into I or P")
    figure.update_layout(title="Move rate of exposed consumers against the control group", barmode="group")
    display.chart(figure, height=360)


def _results_table(results: pd.DataFrame) -> None:
    st.subheader("Every campaign")
    display.table(
        results,
        {
            "campaign_name": display.Column("campaign", "text"),
            "media": display.Column("media", "text"),
            "channels": display.Column("channels", "text"),
            "impressions": display.Column("impressions"),
            "clicks": display.Column("clicks"),
            "click_through_rate": display.Column("CTR", "percent"),
            "reach": display.Column("reach", help="Consumers the campaign reached."),
            "frequency": display.Column("frequency", "decimal", "Exposures per reached consumer."),
            "exposed_move_rate": display.Column("exposed moved", "percent"),
            "control_move_rate": display.Column("control moved", "percent"),
            "incremental_moved_consumers": display.Column("incremental moved", "decimal"),
            "cost": display.Column("cost", "money"),
            "cost_per_incremental_moved_consumer": display.Column("cost per incremental", "money"),
            "coupon_redemption_rate": display.Column("coupon redemption", "percent"),
            "sample_to_purchase_rate": display.Column("sample to purchase", "percent"),
            "is_attribution_complete": display.Column(
                "complete", "flag", "Every reached consumer's attribution window has closed."
            ),
        },
        current().settings.currency,
    )


render()
