"""Audience insight: who an audience is, next to the brand's base, by AIPL state, home city, lifecycle
stage and RFM class (`databank audience profile NAME`).

- The audience: the consumers its criteria match on the run day, consenting or not (insight is about
  who they are; exports and syncs keep to the consenting ones).
- The base: the consumers in the brand's funnel on the run day (any state but none).
- Per value of a dimension: consumers in the audience and in the base, the share of each (of the
  audience, of the base), and TGI = audience share / base share x 100: above 100 the value is more
  common in the audience than in the brand's base. A consumer with no value (no home city, no RFM
  class yet) counts under `unknown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from databank.audiences.activation import open_warehouse
from databank.audiences.checks import check_against_warehouse, resolve_run_date
from databank.audiences.compiler import STATE_ON, compile_audience
from databank.audiences.definition import AudienceError, load_audience, saved_audiences
from databank.config import Settings

DIMENSIONS = ("aipl_state", "home_city", "lifecycle_stage", "rfm_class")
UNKNOWN = "unknown"
# Every consumer with the dimensions of the audience's brand on the run day.
LABELLED = f"""labelled as (
    select
        consumers.one_id,
        {STATE_ON.format(day="$run_date")} as aipl_state,
        consumers.home_city,
        lifecycle.lifecycle_stage,
        rfm.rfm_class,
        consumers.one_id in (select audience.one_id from audience) as in_audience
    from marts.dim_consumers as consumers
    left join marts.consumer_lifecycle as lifecycle
        on
            consumers.one_id = lifecycle.one_id
            and lifecycle.brand_id = $brand_id
            and lifecycle.as_of_date = $run_date
    left join marts.consumer_rfm as rfm
        on
            consumers.one_id = rfm.one_id
            and rfm.brand_id = $brand_id
            and rfm.as_of_date = $run_date
)"""


@dataclass(frozen=True)
class ProfileRow:
    dimension: str
    value: str
    audience: int
    audience_share: float | None
    base: int
    base_share: float | None
    tgi: float | None


@dataclass(frozen=True)
class AudienceProfile:
    name: str
    brand_id: str
    run_date: date
    audience: int
    base: int
    rows: tuple[ProfileRow, ...]


def profile_audience(settings: Settings, name: str, run_date: date | None = None) -> AudienceProfile:
    """The audience `name` against its brand's base on `run_date` (default: the latest day)."""
    audience = load_audience(settings.audiences.folder, name)
    definition = audience.definition
    resolve = saved_audiences(settings.audiences.folder)
    consent_flag = getattr(settings.audiences.consent_flags, definition.purpose)
    with open_warehouse(settings.warehouse) as con:
        try:
            run_date = resolve_run_date(con, run_date)
            check_against_warehouse(con, definition, run_date, resolve)
            compiled = compile_audience(definition, run_date, consent_flag, resolve)
            rows = [row for dimension in DIMENSIONS for row in _counts(con, compiled, dimension)]
        except duckdb.Error as error:
            raise AudienceError(f"the audience profile failed on the warehouse: {error}") from error
    in_audience = sum(r.audience for r in rows if r.dimension == DIMENSIONS[0])
    in_base = sum(r.base for r in rows if r.dimension == DIMENSIONS[0])
    return AudienceProfile(name, definition.brand_id, run_date, in_audience, in_base, tuple(rows))


def _counts(con: duckdb.DuckDBPyConnection, compiled, dimension: str) -> list[ProfileRow]:
    sql = f"""with audience as (
{compiled.sql}
),

{LABELLED},

counted as (
    select
        coalesce(cast({dimension} as varchar), '{UNKNOWN}') as value,
        count(*) filter (where in_audience) as audience,
        count(*) filter (where aipl_state <> 'none') as base
    from labelled
    where in_audience or aipl_state <> 'none'
    group by 1
)

select
    value,
    audience,
    audience / nullif(sum(audience) over (), 0) as audience_share,
    base,
    base / nullif(sum(base) over (), 0) as base_share
from counted
order by audience desc, base desc, value"""
    rows = con.sql(sql, params=compiled.parameters).fetchall()
    return [
        ProfileRow(
            dimension,
            value,
            int(audience),
            audience_share,
            int(base),
            base_share,
            None if not base_share or audience_share is None else 100 * audience_share / base_share,
        )
        for value, audience, audience_share, base, base_share in rows
    ]
