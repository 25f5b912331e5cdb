"""The dashboard's SQL over the published warehouse, every query on a new read-only connection.

The nightly build swaps a new warehouse file in with `os.replace`: a connection held open would
keep reading last night's file, so each query connects, reads and closes. Results are cached per
file version (its modification time), so a newly published night shows on the next rerun.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

STATES = ("O", "A", "I", "P", "L")


class WarehouseUnavailableError(Exception):
    """The warehouse cannot be shown; the message says why, in words for the reader."""


@dataclass(frozen=True)
class Warehouse:
    """One published version of the warehouse file and the marts it holds."""

    path: str
    version: int
    marts: frozenset[str]

    def query(self, sql: str, **params: Any) -> pd.DataFrame:
        return _fetch(self.path, self.version, sql, params)


@st.cache_data(show_spinner=False, max_entries=512)
def _fetch(path: str, version: int, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    """Rows of one query; `version` is part of the cache key only (a new night is a new file)."""
    with duckdb.connect(path, read_only=True) as connection:
        return connection.execute(sql, params).df()


def open_warehouse(path: Path) -> Warehouse:
    """The published warehouse at `path`, or WarehouseUnavailableError saying why there is none."""
    try:
        version = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise WarehouseUnavailableError(
            f"No night has been published yet: {path} does not exist. It appears when the first "
            "nightly run publishes its marts (`databank run --date YYYY-MM-DD`)."
        ) from None
    try:
        tables = _fetch(
            str(path),
            version,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'",
            {},
        )
    except duckdb.Error as error:
        raise WarehouseUnavailableError(f"The warehouse {path} could not be opened: {error}") from error
    return Warehouse(path=str(path), version=version, marts=frozenset(tables["table_name"]))


BRAND_NAMES = "SELECT brand_id, brand_name, brand_name_en FROM marts.dim_brands"


def brands(warehouse: Warehouse) -> pd.DataFrame:
    """Brands with a funnel, with their Chinese and English names."""
    return warehouse.query(
        f"""
        WITH named AS ({BRAND_NAMES})
        SELECT funnel.brand_id, min(named.brand_name) AS brand_name, min(named.brand_name_en) AS brand_name_en
        FROM (SELECT DISTINCT brand_id FROM marts.aipl_daily_funnel) AS funnel
        LEFT JOIN named USING (brand_id)
        GROUP BY funnel.brand_id
        ORDER BY funnel.brand_id
        """
    )


def funnel_days(warehouse: Warehouse) -> tuple[date, date] | None:
    """First and last day of the funnel; None while it has none."""
    row = warehouse.query(
        "SELECT min(funnel_date) AS first_day, max(funnel_date) AS last_day FROM marts.aipl_daily_funnel"
    ).iloc[0]
    if pd.isna(row["last_day"]):
        return None
    return row["first_day"].date(), row["last_day"].date()


def cities(warehouse: Warehouse) -> list[str]:
    """Home cities of the funnel and cities of the stores; 'unknown' (no home inferred) last."""
    frame = warehouse.query(
        """
        SELECT home_city AS city FROM marts.aipl_daily_funnel_by_city
        UNION
        SELECT city FROM marts.dim_stores WHERE city IS NOT NULL
        ORDER BY city = 'unknown', city
        """
    )
    return frame["city"].tolist()


def channels(warehouse: Warehouse) -> list[str]:
    """Channels of the touchpoints (online, store, media)."""
    frame = warehouse.query(
        "SELECT DISTINCT channel FROM marts.fct_touchpoints WHERE channel IS NOT NULL ORDER BY channel"
    )
    return frame["channel"].tolist()


def funnel_history(warehouse: Warehouse, brand_id: str, until: date, city: str | None) -> pd.DataFrame:
    """The brand's funnel per day up to `until`, of one home city when given.

    The city split has no rates of its own; they are computed as the brand funnel's are, each layer
    over the layer above it on the same day.
    """
    if city is None:
        return warehouse.query(
            """
            SELECT funnel_date,
                   CAST(consumers_o AS BIGINT) AS consumers_o, CAST(consumers_a AS BIGINT) AS consumers_a,
                   CAST(consumers_i AS BIGINT) AS consumers_i, CAST(consumers_p AS BIGINT) AS consumers_p,
                   CAST(consumers_l AS BIGINT) AS consumers_l, CAST(asset_total AS BIGINT) AS asset_total,
                   rate_a_to_i, rate_i_to_p, rate_p_to_l
            FROM marts.aipl_daily_funnel
            WHERE brand_id = $brand_id AND funnel_date <= $until
            ORDER BY funnel_date
            """,
            brand_id=brand_id,
            until=until,
        )
    return warehouse.query(
        """
        SELECT funnel_date,
               CAST(consumers_o AS BIGINT) AS consumers_o, CAST(consumers_a AS BIGINT) AS consumers_a,
               CAST(consumers_i AS BIGINT) AS consumers_i, CAST(consumers_p AS BIGINT) AS consumers_p,
               CAST(consumers_l AS BIGINT) AS consumers_l, CAST(asset_total AS BIGINT) AS asset_total,
               consumers_i / nullif(consumers_a, 0) AS rate_a_to_i,
               consumers_p / nullif(consumers_i, 0) AS rate_i_to_p,
               consumers_l / nullif(consumers_p, 0) AS rate_p_to_l
        FROM marts.aipl_daily_funnel_by_city
        WHERE brand_id = $brand_id AND funnel_date <= $until AND home_city = $city
        ORDER BY funnel_date
        """,
        brand_id=brand_id,
        until=until,
        city=city,
    )


def touchpoints_by_channel(
    warehouse: Warehouse, brand_id: str, day: date, chosen_channels: list[str]
) -> pd.DataFrame:
    """The brand's touchpoints of the day per channel and behaviour; all channels when none is chosen."""
    return warehouse.query(
        """
        SELECT channel, behaviour, count(*) AS touches, count(DISTINCT one_id) AS consumers
        FROM marts.fct_touchpoints
        WHERE brand_id = $brand_id AND touched_date = $day
          AND (len($channels) = 0 OR list_contains($channels, channel))
        GROUP BY channel, behaviour
        ORDER BY channel, touches DESC
        """,
        brand_id=brand_id,
        day=day,
        channels=chosen_channels,
    )


def flow_starts(warehouse: Warehouse, brand_id: str, d1: date) -> pd.DataFrame:
    """The earlier days d0 the flow mart pairs with `d1`, with their lag in days."""
    return warehouse.query(
        """
        SELECT DISTINCT d0, lag_days FROM marts.aipl_flow
        WHERE brand_id = $brand_id AND d1 = $d1
        ORDER BY lag_days
        """,
        brand_id=brand_id,
        d1=d1,
    )


def flow(warehouse: Warehouse, brand_id: str, d0: date, d1: date) -> pd.DataFrame:
    """Consumers by state at d0 and state at d1 (none -> none is not counted)."""
    return warehouse.query(
        """
        SELECT state_d0, state_d1, rank_change, consumers
        FROM marts.aipl_flow
        WHERE brand_id = $brand_id AND d0 = $d0 AND d1 = $d1
        ORDER BY consumers DESC
        """,
        brand_id=brand_id,
        d0=d0,
        d1=d1,
    )


def flow_metrics(warehouse: Warehouse, brand_id: str, d0: date, d1: date) -> pd.DataFrame:
    """Per state at d0: stayed, converted up and down, churned, new inflow and the next-layer flow rate."""
    return warehouse.query(
        """
        SELECT state,
               CAST(consumers_d0 AS BIGINT) AS consumers_d0, CAST(stayed AS BIGINT) AS stayed,
               CAST(converted_up AS BIGINT) AS converted_up,
               CAST(converted_down AS BIGINT) AS converted_down,
               CAST(churned AS BIGINT) AS churned, CAST(new_inflow AS BIGINT) AS new_inflow,
               next_layer_rate
        FROM marts.aipl_flow_metrics
        WHERE brand_id = $brand_id AND d0 = $d0 AND d1 = $d1
        ORDER BY list_position($states, state)
        """,
        brand_id=brand_id,
        d0=d0,
        d1=d1,
        states=list(STATES),
    )


def fast_history(warehouse: Warehouse, brand_id: str, until: date) -> pd.DataFrame:
    """FAST of the brand per day up to `until`."""
    return warehouse.query(
        """
        SELECT fast_date, asset_consumers, lagged_asset_consumers, advancing_consumers, advancing_rate,
               deepening_rate, active_members, thriving_members, thriving_rate
        FROM marts.brand_fast_daily
        WHERE brand_id = $brand_id AND fast_date <= $until
        ORDER BY fast_date
        """,
        brand_id=brand_id,
        until=until,
    )


def trade_areas(warehouse: Warehouse, brand_id: str, city: str | None) -> pd.DataFrame:
    """The brand's stores with their coordinates and each ring's consumers, of one city when given."""
    return warehouse.query(
        """
        SELECT stores.store_id, stores.store_name, stores.city, stores.store_type, stores.is_open,
               stores.lat, stores.lon, areas.ring_no, areas.ring_inner_km, areas.ring_outer_km,
               areas.consumers, CAST(areas.consumers_by_home AS BIGINT) AS consumers_by_home,
               CAST(areas.consumers_by_work AS BIGINT) AS consumers_by_work,
               CAST(areas.consumers_o AS BIGINT) AS consumers_o,
               CAST(areas.consumers_a AS BIGINT) AS consumers_a,
               CAST(areas.consumers_i AS BIGINT) AS consumers_i,
               CAST(areas.consumers_p AS BIGINT) AS consumers_p,
               CAST(areas.consumers_l AS BIGINT) AS consumers_l,
               CAST(areas.potential_customers AS BIGINT) AS potential_customers, areas.as_of_date
        FROM marts.store_trade_areas AS areas
        JOIN marts.dim_stores AS stores USING (store_id)
        WHERE areas.brand_id = $brand_id AND ($city IS NULL OR stores.city = $city)
        ORDER BY stores.store_id, areas.ring_no
        """,
        brand_id=brand_id,
        city=city,
    )


def campaigns(warehouse: Warehouse, brand_id: str, chosen_channels: list[str]) -> pd.DataFrame:
    """The brand's campaign results, each with the channels its touchpoints came through; only
    campaigns reaching a chosen channel when channels are chosen."""
    return warehouse.query(
        """
        WITH campaign_channels AS (
            SELECT campaign_id, list(DISTINCT channel ORDER BY channel) AS channels
            FROM marts.fct_touchpoints
            WHERE campaign_id IS NOT NULL
            GROUP BY campaign_id
        )
        SELECT results.campaign_id, names.campaign_name, results.media,
               array_to_string(campaign_channels.channels, ', ') AS channels, results.as_of_date,
               results.impressions, results.clicks, results.click_through_rate, results.reach,
               results.frequency, results.exposed_base, results.exposed_move_rate, results.control_move_rate,
               results.incremental_moved_consumers, results.cost,
               results.cost_per_incremental_moved_consumer, results.coupons_claimed, results.coupons_redeemed,
               results.coupon_redemption_rate, results.sampled_consumers, results.sample_to_purchase_rate,
               results.is_attribution_complete
        FROM marts.campaign_performance AS results
        LEFT JOIN marts.dim_campaigns AS names USING (campaign_id)
        LEFT JOIN campaign_channels USING (campaign_id)
        WHERE results.brand_id = $brand_id
          AND (len($channels) = 0 OR list_has_any(campaign_channels.channels, $channels))
        ORDER BY results.campaign_id
        """,
        brand_id=brand_id,
        channels=chosen_channels,
    )


def identification(warehouse: Warehouse, until: date, chosen_channels: list[str]) -> pd.DataFrame:
    """Identification rate per feed and record day up to `until`. With channels chosen, only the feeds
    whose touchpoints come through them (the feeds' sum 'all' and the CRM's members have none)."""
    return warehouse.query(
        """
        WITH feed_channels AS (
            SELECT source_feed, list(DISTINCT channel ORDER BY channel) AS channels
            FROM marts.fct_touchpoints
            GROUP BY source_feed
        )
        SELECT rates.source_feed, rates.record_date, rates.records, rates.resolved_records,
               rates.person_identified_records, rates.resolution_rate, rates.identification_rate,
               array_to_string(feed_channels.channels, ', ') AS channels
        FROM marts.identity_resolution_daily AS rates
        LEFT JOIN feed_channels USING (source_feed)
        WHERE rates.record_date <= $until
          AND (len($channels) = 0 OR list_has_any(feed_channels.channels, $channels))
        ORDER BY rates.record_date, rates.source_feed
        """,
        until=until,
        channels=chosen_channels,
    )


def row_on(frame: pd.DataFrame, column: str, day: date) -> pd.Series | None:
    """The row of `frame` whose date `column` is `day`, if any."""
    rows = frame[frame[column] == pd.Timestamp(day)]
    return None if rows.empty else rows.iloc[0]
