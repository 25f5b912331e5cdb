"""A tiny DuckDB warehouse with the mart columns audiences read, holding the rows a test gives.

Reference data is fixed: brands B1 and B2; store S1 of B1 at (31.0, 121.0) and S2 of B2, each with
rings 1 (0-3 km) and 2 (3-5 km); campaigns K1 of B1 and K2 of B2; flow lags 1, 7 and 30; funnel days
FIRST_DAY to RUN_DAY; lifecycle, RFM and trade areas as of RUN_DAY.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb

from databank.config import Settings, load_settings

FIRST_DAY = date(2026, 5, 1)
RUN_DAY = date(2026, 5, 14)
S1_LAT, S1_LON = 31.0, 121.0
DEGREES_LAT_PER_KM = 0.0089932

SCHEMA = """
create schema marts;
create schema intermediate;
create table marts.dim_consumers (one_id varchar, home_city varchar);
create table marts.dim_memberships (
    one_id varchar, brand_id varchar, member_id_hmac varchar, is_active boolean,
    has_marketing_consent boolean, has_ad_targeting_consent boolean
);
create table marts.aipl_state_history (
    one_id varchar, brand_id varchar, state varchar, valid_from date, valid_to date
);
create table marts.aipl_daily_funnel (brand_id varchar, funnel_date date);
create table marts.aipl_flow (brand_id varchar, d1 date, lag_days integer);
create table marts.aipl_flow_consumers (
    one_id varchar, brand_id varchar, d0 date, d1 date, lag_days integer, state_d0 varchar,
    state_d1 varchar
);
create table marts.consumer_lifecycle (
    one_id varchar, brand_id varchar, as_of_date date, lifecycle_stage varchar
);
create table marts.consumer_rfm (one_id varchar, brand_id varchar, as_of_date date, rfm_class varchar);
create table marts.fct_touchpoints (
    one_id varchar, brand_id varchar, behaviour varchar, touched_date date, campaign_id varchar
);
create table marts.dim_brands (brand_id varchar);
create table marts.dim_products (sku varchar, brand_id varchar);
create table marts.dim_stores (store_id varchar, brand_id varchar, lat double, lon double);
create table marts.dim_campaigns (campaign_id varchar, brand_id varchar);
create table marts.store_trade_areas (
    store_id varchar, brand_id varchar, ring_no integer, ring_inner_km integer, ring_outer_km integer,
    as_of_date date
);
create table intermediate.int_consumer_locations (
    one_id varchar, location_kind varchar, lat double, lon double
);
"""


# The run day's flows of the spells, by consumer, as aipl_flow_consumers lists them (no id changes here).
FLOWS_OF_THE_SPELLS = """
insert into marts.aipl_flow_consumers
with pairs as (select $1::date - lag as d0, $1::date as d1, lag from unnest([1, 7, 30]) as t(lag)),
held as (
    select spells.one_id, spells.brand_id, pairs.*,
        any_value(spells.state) filter (where spells.valid_from <= pairs.d0
            and (spells.valid_to is null or spells.valid_to > pairs.d0)) as state_d0,
        any_value(spells.state) filter (where spells.valid_from <= pairs.d1
            and (spells.valid_to is null or spells.valid_to > pairs.d1)) as state_d1
    from marts.aipl_state_history as spells, pairs
    group by all
)
select one_id, brand_id, d0, d1, lag, coalesce(state_d0, 'none'), coalesce(state_d1, 'none')
from held
where state_d0 is not null or state_d1 is not null
"""


def member(
    one_id: str,
    brand_id: str = "B1",
    *,
    active: bool = True,
    marketing: bool | None = True,
    ad_targeting: bool | None = True,
    card: str = "1",
) -> tuple:
    """A membership row of dim_memberships."""
    return (one_id, brand_id, f"hmac-{one_id}-{brand_id}-{card}", active, marketing, ad_targeting)


def spell(
    one_id: str, state: str, since: date = FIRST_DAY, until: date | None = None, brand_id: str = "B1"
) -> tuple:
    """An aipl_state_history row: `state` from `since` up to (not including) `until`."""
    return (one_id, brand_id, state, since, until)


def touch(
    one_id: str, behaviour: str, day: date = RUN_DAY, campaign_id: str | None = None, brand_id: str = "B1"
) -> tuple:
    """A fct_touchpoints row."""
    return (one_id, brand_id, behaviour, day, campaign_id)


def located(one_id: str, km_north_of_s1: float, kind: str = "home") -> tuple:
    """An int_consumer_locations row `km_north_of_s1` km due north of store S1."""
    return (one_id, kind, S1_LAT + km_north_of_s1 * DEGREES_LAT_PER_KM, S1_LON)


def build_warehouse(
    path: Path,
    *,
    consumers: tuple[str, ...] = (),
    memberships: tuple[tuple, ...] = (),
    spells: tuple[tuple, ...] = (),
    touches: tuple[tuple, ...] = (),
    lifecycle: tuple[tuple, ...] = (),
    rfm: tuple[tuple, ...] = (),
    locations: tuple[tuple, ...] = (),
    cities: dict[str, str] | None = None,
) -> Path:
    """Write the warehouse to `path`. Everyone named in any row is a consumer of dim_consumers.

    lifecycle and rfm rows are (one_id, brand_id, stage or class), as of RUN_DAY; `cities` gives home
    cities by one_id.
    """
    everyone = set(consumers) | {
        row[0] for rows in (memberships, spells, touches, lifecycle, rfm, locations) for row in rows
    }
    con = duckdb.connect(str(path))
    con.execute(SCHEMA)
    _insert(con, "marts.dim_consumers", [(one_id, (cities or {}).get(one_id)) for one_id in sorted(everyone)])
    _insert(con, "marts.dim_memberships", memberships)
    _insert(con, "marts.aipl_state_history", spells)
    _insert(con, "marts.fct_touchpoints", touches)
    _insert(
        con,
        "marts.consumer_lifecycle",
        [(one_id, brand, RUN_DAY, stage) for one_id, brand, stage in lifecycle],
    )
    _insert(
        con, "marts.consumer_rfm", [(one_id, brand, RUN_DAY, rfm_class) for one_id, brand, rfm_class in rfm]
    )
    _insert(con, "intermediate.int_consumer_locations", locations)
    _insert(con, "marts.dim_brands", [("B1",), ("B2",)])
    _insert(con, "marts.dim_products", [("P1", "B1"), ("P2", "B2")])
    _insert(con, "marts.dim_stores", [("S1", "B1", S1_LAT, S1_LON), ("S2", "B2", 30.0, 120.0)])
    _insert(con, "marts.dim_campaigns", [("K1", "B1"), ("K2", "B2")])
    _insert(
        con,
        "marts.store_trade_areas",
        [
            (store, brand, ring, inner, outer, RUN_DAY)
            for store, brand in (("S1", "B1"), ("S2", "B2"))
            for ring, inner, outer in ((1, 0, 3), (2, 3, 5))
        ],
    )
    _insert(con, "marts.aipl_flow", [("B1", RUN_DAY, lag) for lag in (1, 7, 30)])
    con.execute(FLOWS_OF_THE_SPELLS, [RUN_DAY])
    days = (RUN_DAY - FIRST_DAY).days + 1
    _insert(con, "marts.aipl_daily_funnel", [("B1", FIRST_DAY + timedelta(days=n)) for n in range(days)])
    con.close()
    return path


def audience_settings(
    tmp_path: Path, warehouse: Path, min_export_size: int = 2, **audiences: object
) -> Settings:
    """Settings reading `warehouse`, definitions from <tmp_path>/audiences, exports under tmp_path;
    `audiences` overrides more of the [audiences] section."""
    folder = tmp_path / "audiences"
    folder.mkdir(exist_ok=True)
    return load_settings(
        data_dir=tmp_path / "data",
        warehouse_path=warehouse,
        audiences={"folder": folder, "min_export_size": min_export_size, **audiences},
    )


def write_audience(settings: Settings, name: str, yaml_text: str) -> None:
    (settings.audiences.folder / f"{name}.yaml").write_text(yaml_text, encoding="utf-8")


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows) -> None:
    rows = list(rows)
    if rows:
        placeholders = ", ".join("?" * len(rows[0]))
        con.executemany(f"insert into {table} values ({placeholders})", rows)
