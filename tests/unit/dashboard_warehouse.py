"""A tiny published warehouse with the mart columns the dashboard reads, for the days a test names.

Brands 山岚 (B01) and 青禾 (B02). Per funnel day i (0 for the first): B01 has 100 + 10i consumers in
A, 20 + 3i in I, 5 + i in P and 2 in L, of whom 60 + 5i, 12, 3 and 1 live in 上海 and the rest in no
known city; B02 has 50, 10, 2 and 1. Flows pair each day with the day before and the day 7 days
before. Stores: 山岚上海旗舰店 and 山岚北京快闪店 of B01, 青禾上海店 of B02, each with rings 0-3 and
3-5 km. Campaigns: 山岚新品首发 (douyin, reached through media) and 山岚门店互动屏 (instore_screen,
reached in store) of B01, 青禾秋季投放 of B02. Feeds: online_events (online), media_exposures (media
and store), pos_transactions (store) and members (no channel), with their sum 'all'. Trade areas and
campaign results are as of the last day.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb

SCHEMA = """
create schema marts;
create table marts.dim_brands (brand_id varchar, brand_name varchar, brand_name_en varchar, sector varchar);
create table marts.dim_stores (
    store_id varchar, store_name varchar, brand_id varchar, brand_name varchar, brand_name_en varchar,
    city varchar, lat double, lon double, store_type varchar, is_open boolean
);
create table marts.dim_campaigns (
    campaign_id varchar, campaign_name varchar, brand_id varchar, brand_name varchar,
    brand_name_en varchar, media varchar
);
create table marts.aipl_daily_funnel (
    brand_id varchar, funnel_date date, consumers_o hugeint, consumers_a hugeint, consumers_i hugeint,
    consumers_p hugeint, consumers_l hugeint, asset_total hugeint, rate_a_to_i double,
    rate_i_to_p double, rate_p_to_l double
);
create table marts.aipl_daily_funnel_by_city (
    brand_id varchar, funnel_date date, home_city varchar, consumers_o hugeint, consumers_a hugeint,
    consumers_i hugeint, consumers_p hugeint, consumers_l hugeint, asset_total hugeint
);
create table marts.aipl_flow (
    flow_id varchar, brand_id varchar, d0 date, d1 date, lag_days integer, state_d0 varchar,
    state_d1 varchar, rank_change integer, consumers bigint
);
create table marts.aipl_flow_metrics (
    brand_id varchar, d0 date, d1 date, lag_days integer, state varchar, consumers_d0 hugeint,
    stayed hugeint, converted_up hugeint, converted_down hugeint, churned hugeint, new_inflow hugeint,
    next_layer_rate double
);
create table marts.brand_fast_daily (
    brand_id varchar, fast_date date, asset_consumers bigint, lagged_asset_consumers bigint,
    advancing_consumers bigint, advancing_rate double, deepening_rate double, active_members bigint,
    thriving_members bigint, thriving_rate double
);
create table marts.store_trade_areas (
    store_id varchar, brand_id varchar, ring_no integer, ring_inner_km integer, ring_outer_km integer,
    consumers bigint, consumers_by_home hugeint, consumers_by_work hugeint, consumers_o hugeint,
    consumers_a hugeint, consumers_i hugeint, consumers_p hugeint, consumers_l hugeint,
    potential_customers hugeint, as_of_date date
);
create table marts.campaign_performance (
    campaign_id varchar, as_of_date date, brand_id varchar, media varchar, impressions bigint,
    clicks bigint, click_through_rate double, reach bigint, frequency double, exposed_base bigint,
    exposed_move_rate double, control_move_rate double, incremental_moved_consumers double,
    cost double, cost_per_incremental_moved_consumer double, coupons_claimed bigint,
    coupons_redeemed bigint, coupon_redemption_rate double, sampled_consumers bigint,
    sample_to_purchase_rate double, is_attribution_complete boolean
);
create table marts.fct_touchpoints (
    one_id varchar, brand_id varchar, behaviour varchar, touched_date date, channel varchar,
    campaign_id varchar, source_feed varchar
);
create table marts.identity_resolution_daily (
    source_feed varchar, record_date date, records bigint, resolved_records bigint,
    person_identified_records bigint, resolution_rate double, identification_rate double
);
create table marts.dim_consumers (one_id varchar, home_city varchar);
create table marts.dim_memberships (
    one_id varchar, brand_id varchar, member_id_hmac varchar, is_active boolean,
    has_marketing_consent boolean, has_ad_targeting_consent boolean
);
create table marts.aipl_state_history (
    one_id varchar, brand_id varchar, state varchar, valid_from date, valid_to date
);
create table marts.consumer_lifecycle (
    one_id varchar, brand_id varchar, as_of_date date, lifecycle_stage varchar
);
create table marts.consumer_rfm (one_id varchar, brand_id varchar, as_of_date date, rfm_class varchar);
"""
# Consumers of B01 the audiences page profiles: (one_id, home city, state since the first day, member)
CONSUMERS = [
    ("c1", "上海", "P", True),
    ("c2", "上海", "L", True),
    ("c3", "北京", "P", False),
    ("c4", "北京", "I", True),
    ("c5", None, "A", False),
]
BRANDS = [("B01", "山岚", "Shanlan", "户外服饰"), ("B02", "青禾", "Qinghe", "护肤")]
STORES = [
    ("S01001", "山岚上海旗舰店", "B01", "山岚", "Shanlan", "上海", 31.23, 121.47, "flagship", True),
    ("S01002", "山岚北京快闪店", "B01", "山岚", "Shanlan", "北京", 39.91, 116.40, "popup", False),
    ("S02001", "青禾上海店", "B02", "青禾", "Qinghe", "上海", 31.20, 121.44, "mall", True),
]
CAMPAIGNS = [
    ("C0101", "山岚新品首发", "B01", "山岚", "Shanlan", "douyin"),
    ("C0102", "山岚门店互动屏", "B01", "山岚", "Shanlan", "instore_screen"),
    ("C0201", "青禾秋季投放", "B02", "青禾", "Qinghe", "weibo"),
]
FEED_RECORDS = {  # feed: (records, resolved, person identified) per day
    "online_events": (200, 198, 180),
    "media_exposures": (500, 490, 400),
    "pos_transactions": (40, 30, 10),
    "members": (5, 5, 5),
}


def b01_funnel(index: int) -> tuple[int, int, int, int]:
    """Consumers of B01 in A, I, P and L on the funnel's day `index`."""
    return 100 + 10 * index, 20 + 3 * index, 5 + index, 2


def b01_shanghai(index: int) -> tuple[int, int, int, int]:
    return 60 + 5 * index, 12, 3, 1


def write_warehouse(path: Path, days: list[date]) -> Path:
    """A warehouse file at `path` holding the marts of `days` (ascending); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.begin()
        connection.execute(SCHEMA)
        _insert(connection, "dim_brands", BRANDS)
        _insert(connection, "dim_stores", STORES)
        _insert(connection, "dim_campaigns", CAMPAIGNS)
        for index, day in enumerate(days):
            _day(connection, index, day)
        _as_of(connection, days[-1])
        _consumers(connection, days[0], days[-1])
        connection.commit()
    return path


def _consumers(connection: duckdb.DuckDBPyConnection, first: date, last: date) -> None:
    _insert(connection, "dim_consumers", [(one_id, city) for one_id, city, _, _ in CONSUMERS])
    _insert(
        connection, "aipl_state_history", [(c, "B01", state, first, None) for c, _, state, _ in CONSUMERS]
    )
    members = [(c, "B01", f"hmac-{c}", True, True, True) for c, _, _, member in CONSUMERS if member]
    _insert(connection, "dim_memberships", members)
    _insert(connection, "consumer_lifecycle", [("c1", "B01", last, "active"), ("c2", "B01", last, "active")])
    _insert(connection, "consumer_rfm", [("c1", "B01", last, "important_value")])


def _insert(connection: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """All `rows` in one statement (a statement per row is slow)."""
    row = f"({', '.join('?' * len(rows[0]))})"
    values = [value for each in rows for value in each]
    connection.execute(f"insert into marts.{table} values {', '.join([row] * len(rows))}", values)


def _funnel_row(brand_id: str, day: date, a: int, i: int, p: int, loyal: int) -> tuple:
    return (brand_id, day, 0, a, i, p, loyal, a + i + p + loyal, i / a, p / i, loyal / p)


def _day(connection: duckdb.DuckDBPyConnection, index: int, day: date) -> None:
    brand_funnel = b01_funnel(index)
    shanghai = b01_shanghai(index)
    elsewhere = tuple(b - s for b, s in zip(brand_funnel, shanghai, strict=True))
    _insert(
        connection,
        "aipl_daily_funnel",
        [_funnel_row("B01", day, *brand_funnel), _funnel_row("B02", day, 50, 10, 2, 1)],
    )
    _insert(
        connection,
        "aipl_daily_funnel_by_city",
        [
            ("B01", day, city, 0, *counts, sum(counts))
            for city, counts in (("上海", shanghai), ("unknown", elsewhere))
        ],
    )
    for brand_id in ("B01", "B02"):
        for lag in (1, 7):
            _flow(connection, brand_id, day - timedelta(days=lag), day, lag)
        _insert(
            connection,
            "brand_fast_daily",
            [(brand_id, day, sum(brand_funnel), 100, 30, 0.3, 0.1, 40, 8, 0.2)],
        )
    _insert(
        connection,
        "fct_touchpoints",
        [
            ("c1", "B01", "impression", day, "media", "C0101", "media_exposures"),
            ("c2", "B01", "impression", day, "media", "C0101", "media_exposures"),
            ("c1", "B01", "page_view", day, "online", None, "online_events"),
            ("c3", "B01", "interactive", day, "store", "C0102", "media_exposures"),
            ("c3", "B01", "purchase", day, "store", None, "pos_transactions"),
            ("c4", "B02", "impression", day, "media", "C0201", "media_exposures"),
        ],
    )
    rows = [
        (feed, day, *counts, counts[1] / counts[0], counts[2] / counts[0])
        for feed, counts in FEED_RECORDS.items()
    ]
    total = [sum(counts[n] for counts in FEED_RECORDS.values()) for n in range(3)]
    rows.append(("all", day, *total, total[1] / total[0], total[2] / total[0]))
    _insert(connection, "identity_resolution_daily", rows)


def _flow(connection: duckdb.DuckDBPyConnection, brand_id: str, d0: date, d1: date, lag: int) -> None:
    cells = [("none", "A", 2, 10), ("A", "A", 0, 80), ("A", "I", 1, 5), ("I", "P", 1, 2), ("P", "L", 1, 1)]
    cells.append(("I", "none", -3, 1))
    _insert(
        connection,
        "aipl_flow",
        [
            (f"{brand_id}:{d1}:{lag}:{s0}:{s1}", brand_id, d0, d1, lag, s0, s1, change, consumers)
            for s0, s1, change, consumers in cells
        ],
    )
    _insert(
        connection,
        "aipl_flow_metrics",
        [
            (brand_id, d0, d1, lag, "A", 85, 80, 5, 0, 0, 10, 5 / 85),
            (brand_id, d0, d1, lag, "I", 3, 0, 2, 0, 1, 0, 2 / 3),
            (brand_id, d0, d1, lag, "P", 1, 0, 1, 0, 0, 0, 1.0),
        ],
    )


def _as_of(connection: duckdb.DuckDBPyConnection, day: date) -> None:
    for store_id, _, brand_id, *_ in STORES:
        for ring, inner, outer in ((1, 0, 3), (2, 3, 5)):
            _insert_named(
                connection,
                "store_trade_areas",
                store_id=store_id,
                brand_id=brand_id,
                ring_no=ring,
                ring_inner_km=inner,
                ring_outer_km=outer,
                consumers=10 * ring,
                consumers_by_home=6 * ring,
                consumers_by_work=4 * ring,
                consumers_o=1,
                consumers_a=5 * ring,
                consumers_i=2 * ring,
                consumers_p=1,
                consumers_l=1,
                potential_customers=4 * ring,
                as_of_date=day,
            )
    for campaign_id, _, brand_id, _, _, media in CAMPAIGNS:
        in_store = media == "instore_screen"
        _insert_named(
            connection,
            "campaign_performance",
            campaign_id=campaign_id,
            as_of_date=day,
            brand_id=brand_id,
            media=media,
            impressions=0 if in_store else 5000,
            clicks=0 if in_store else 60,
            click_through_rate=None if in_store else 0.012,
            reach=10 if in_store else 2000,
            frequency=2.5,
            exposed_base=8 if in_store else 1500,
            exposed_move_rate=0.5 if in_store else 0.2,
            control_move_rate=0.15,
            incremental_moved_consumers=2.8 if in_store else 75.0,
            cost=0.0 if in_store else 300.0,
            coupons_claimed=20,
            coupons_redeemed=5,
            coupon_redemption_rate=0.25,
            is_attribution_complete=in_store,
        )


def _insert_named(connection: duckdb.DuckDBPyConnection, table: str, **row: object) -> None:
    """One row given by column; the columns left out are null."""
    marks = ", ".join("?" * len(row))
    connection.execute(f"insert into marts.{table} ({', '.join(row)}) values ({marks})", list(row.values()))


def write_empty_warehouse(path: Path) -> Path:
    """A DuckDB file that holds nothing yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(path)).close()
    return path
