"""What a published night says, in the figures a brand reads first: the AIPL funnel per brand, how
consumers moved between states over the last week, and how much of the day's traffic was identified.

Read from the published warehouse (read-only, a connection per report: the nightly run swaps the
file in). `databank demo` prints these after its last night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from databank.warehouse import NoWarehouseError, open_published

FLOW_LAG_DAYS = 7


@dataclass(frozen=True)
class NightReport:
    day: date
    funnel: list[dict[str, Any]]  # a row per brand: states O..L, asset total, next-layer rates
    flow: list[dict[str, Any]]  # a row per brand and state: where the state's consumers of a week ago went
    identification: list[dict[str, Any]]  # a row per feed, and one for all feeds


class NothingPublishedError(RuntimeError):
    """The warehouse does not exist yet, or holds no funnel day."""


def night_report(warehouse: Path, day: date | None = None) -> NightReport:
    """The report of `day` (default: the latest day the funnel holds)."""
    try:
        con = open_published(warehouse)
    except NoWarehouseError as error:
        raise NothingPublishedError(str(error)) from error
    with con:
        day = day or con.execute("SELECT max(funnel_date) FROM marts.aipl_daily_funnel").fetchone()[0]
        if day is None:
            raise NothingPublishedError(f"the warehouse {warehouse} holds no funnel day yet")
        return NightReport(
            day,
            _rows(con, FUNNEL, day),
            _rows(con, FLOW, day, FLOW_LAG_DAYS),
            _rows(con, IDENTIFICATION, day),
        )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *parameters: Any) -> list[dict[str, Any]]:
    cursor = con.execute(sql, list(parameters))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


FUNNEL = """
SELECT coalesce(brands.brand_name, funnel.brand_id) AS brand, funnel.brand_id,
       consumers_a AS a, consumers_i AS i, consumers_p AS p, consumers_l AS l, consumers_o AS o,
       asset_total, rate_a_to_i, rate_i_to_p, rate_p_to_l
FROM marts.aipl_daily_funnel AS funnel
LEFT JOIN marts.dim_brands AS brands USING (brand_id)
WHERE funnel_date = ?
ORDER BY funnel.brand_id
"""

FLOW = """
SELECT coalesce(brands.brand_name, flow.brand_id) AS brand, flow.brand_id, d0, state, consumers_d0,
       stayed, converted_up, converted_down, churned, new_inflow, next_layer_rate
FROM marts.aipl_flow_metrics AS flow
LEFT JOIN marts.dim_brands AS brands USING (brand_id)
WHERE d1 = ? AND lag_days = ?
  AND d0 >= (SELECT min(funnel_date) FROM marts.aipl_daily_funnel)  -- a week ago is within the history
ORDER BY flow.brand_id, position(state IN 'AIPL')
"""

IDENTIFICATION = """
SELECT source_feed, records, resolution_rate, identification_rate
FROM marts.identity_resolution_daily
WHERE record_date = ?
ORDER BY source_feed = 'all', records DESC
"""
