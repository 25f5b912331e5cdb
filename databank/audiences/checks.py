"""Check a definition against what the warehouse holds: its run days, brands, stores, rings, campaigns
and flow lags, so an audience that names something unknown fails with a message instead of matching
no one."""

from __future__ import annotations

from datetime import date

import duckdb

from databank.audiences.compiler import Resolve
from databank.audiences.definition import AudienceDefinition, AudienceError, Criteria, walk

BRANDS_SQL = "select brand_id from marts.dim_brands order by brand_id"
# Criteria read from marts that hold only the night they were built (as_of_date).
SNAPSHOT_MARTS = {
    "lifecycle_stages": "consumer_lifecycle",
    "rfm_classes": "consumer_rfm",
    "trade_area": "store_trade_areas",
}
SNAPSHOT_DATES_SQL = {
    mart: f"select distinct as_of_date from marts.{mart} order by as_of_date"
    for mart in SNAPSHOT_MARTS.values()
}


def resolve_run_date(con: duckdb.DuckDBPyConnection, requested: date | None) -> date:
    """`requested`, if the funnel holds that day; by default the latest funnel day of the warehouse."""
    [(first, last)] = con.sql(
        "select min(funnel_date), max(funnel_date) from marts.aipl_daily_funnel"
    ).fetchall()
    if last is None:
        raise AudienceError("the warehouse holds no funnel day yet: build the marts first")
    if requested is None:
        return last
    if not first <= requested <= last:
        raise AudienceError(f"--date {requested} is outside the days the warehouse holds ({first} to {last})")
    return requested


def check_against_warehouse(
    con: duckdb.DuckDBPyConnection,
    definition: AudienceDefinition,
    run_date: date,
    resolve: Resolve | None = None,
) -> None:
    """Raise an AudienceError listing every id, ring, lag or day of `definition` the warehouse lacks,
    in its blocks and in the saved audiences it names (`resolve` loads them) too."""
    problems = []
    for criteria, brand_id in _every_criteria(definition, resolve):
        problems += _criteria_problems(con, criteria, brand_id, run_date)
    if problems:
        raise AudienceError(
            "the audience does not fit the warehouse:\n"
            + "\n".join(f"  {p}" for p in dict.fromkeys(problems))
        )


def _every_criteria(
    definition: AudienceDefinition, resolve: Resolve | None, seen: frozenset[str] = frozenset()
) -> list[tuple[Criteria, str]]:
    found = walk(definition, definition.brand_id)
    for criteria, _ in list(found):
        name = criteria.audience
        if name is not None and resolve is not None and name not in seen:
            found += _every_criteria(resolve(name), resolve, seen | {name})
    return found


def _criteria_problems(
    con: duckdb.DuckDBPyConnection, criteria: Criteria, brand_id: str, run_date: date
) -> list[str]:
    problems = _brand_problems(con, brand_id)
    if criteria.aipl_flow is not None:
        problems += _lag_problems(con, criteria.aipl_flow.lag_days)
    if criteria.trade_area is not None:
        problems += _trade_area_problems(con, criteria, brand_id)
    if criteria.campaign_exposure is not None:
        problems += _campaign_problems(con, criteria, brand_id)
    return problems + _snapshot_problems(con, criteria, run_date)


def _brand_problems(con: duckdb.DuckDBPyConnection, brand_id: str) -> list[str]:
    brands = _values(con, BRANDS_SQL)
    return [] if brand_id in brands else [f"brand_id: no brand {brand_id!r} (known: {_listing(brands)})"]


def _lag_problems(con: duckdb.DuckDBPyConnection, lag_days: int) -> list[str]:
    lags = _values(con, "select distinct lag_days from marts.aipl_flow order by lag_days")
    if lag_days in lags:
        return []
    return [f"aipl_flow.lag_days: aipl_flow holds no lag of {lag_days} days (known: {_listing(lags)})"]


def _trade_area_problems(con: duckdb.DuckDBPyConnection, criteria: Criteria, brand_id: str) -> list[str]:
    area = criteria.trade_area
    owners = _values(con, "select brand_id from marts.dim_stores where store_id = $id", {"id": area.store_id})
    if not owners:
        stores = _values(
            con,
            "select store_id from marts.dim_stores where brand_id = $brand_id order by 1",
            {"brand_id": brand_id},
        )
        return [f"trade_area.store_id: no store {area.store_id!r} (stores of the brand: {_listing(stores)})"]
    if owners[0] != brand_id:
        return [f"trade_area.store_id: store {area.store_id!r} is of brand {owners[0]!r}, not {brand_id!r}"]
    rings = _values(
        con,
        "select distinct ring_no from marts.store_trade_areas where store_id = $store_id order by 1",
        {"store_id": area.store_id},
    )
    unknown = [ring for ring in area.rings if ring not in rings]
    if unknown:
        return [
            f"trade_area.rings: store {area.store_id!r} has no ring {_listing(unknown)} "
            f"(it has {_listing(rings)})"
        ]
    return []


def _campaign_problems(con: duckdb.DuckDBPyConnection, criteria: Criteria, brand_id: str) -> list[str]:
    campaign_id = criteria.campaign_exposure.campaign_id
    owners = _values(
        con, "select brand_id from marts.dim_campaigns where campaign_id = $id", {"id": campaign_id}
    )
    if not owners:
        campaigns = _values(
            con,
            "select campaign_id from marts.dim_campaigns where brand_id = $brand_id order by 1",
            {"brand_id": brand_id},
        )
        return [
            f"campaign_exposure.campaign_id: no campaign {campaign_id!r} (the brand's: {_listing(campaigns)})"
        ]
    if owners[0] != brand_id:
        return [
            f"campaign_exposure.campaign_id: campaign {campaign_id!r} is of brand {owners[0]!r}, "
            f"not {brand_id!r}"
        ]
    return []


def _snapshot_problems(con: duckdb.DuckDBPyConnection, criteria: Criteria, run_date: date) -> list[str]:
    problems = []
    for criterion, mart in SNAPSHOT_MARTS.items():
        if getattr(criteria, criterion) is None:
            continue
        as_of = _values(con, SNAPSHOT_DATES_SQL[mart])
        if as_of and as_of != [run_date]:
            problems.append(
                f"{criterion}: {mart} is known only as of {_listing(as_of)}, not on {run_date} "
                "(leave out --date, or drop this criterion)"
            )
    return problems


def _values(con: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, object] | None = None) -> list:
    return [row[0] for row in con.sql(sql, params=parameters or {}).fetchall()]


def _listing(values: list, shown: int = 12) -> str:
    listed = ", ".join(str(value) for value in values[:shown])
    return listed + (f", … ({len(values)} in all)" if len(values) > shown else "")
