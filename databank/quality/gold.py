"""Gold suites: the business rules the marts must keep before a night is published.

Each suite validates one batch that SQL shapes from the build file (DuckDB) for its rules, so a rule
reads as a comparison of two columns or a bound on one.

- `gold.funnel` (aipl_daily_funnel): A + I + P + L = asset_total per brand and day; one row per
  brand and day; counts and layer ratios not negative; fresh: its newest day is the run date.
- `gold.funnel_days` (aipl_daily_funnel): no day missing between a brand's first funnel day and the
  run date.
- `gold.flow` (aipl_flow_metrics): the run date's flows exist; the flow identity, count at d0 =
  stayed + converted up + converted down + churned; the flow matrix's margin at d1 equals the funnel
  of d1 (what stayed, came in from other states and newly flowed in is the count at d1); its margin
  at d0 equals the d0 states followed to the consumers of d1, recounted here from the state history
  and OneID's history (a flow follows the consumer, not the id: the d0 spells of ids merged or split
  by d1 count under the ids they became, the deepest where several became one, so with such changes
  the d0 margin is not the funnel of d0); next_layer_rate in [0, 1].
- `gold.touchpoints` (fct_touchpoints): every touchpoint of the night has a one_id, a source feed
  and a source record id; fresh: its newest touch is at most `touch_freshness_days` before the run
  date, and none lies after it.
- `gold.rates` (brand_fast_daily, identity_resolution_daily, campaign_performance): the run date's shares in
  [0, 1], its ratios not negative.

Only what a night writes is read (the run date's rows), except the funnel, a few rows per brand and
day, whose whole history the continuity rules need, and the state spells holding on the run date's
d0 days with OneID's changes since the earliest of them (silver.one_id_history). A mart missing from
the build fails every rule of its suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from databank.config import Settings
from databank.quality.batches import as_frame
from databank.quality.checks import build_suite, check
from databank.quality.suites import business_dates

MARTS = "marts"
SILVER = "silver"
STATES = ("o", "a", "i", "p", "l")  # shallowest first


@dataclass(frozen=True)
class RateColumns:
    """The columns of a mart that hold a share (in [0, 1]) or a ratio (not negative), per day."""

    day_column: str
    shares: tuple[str, ...]
    ratios: tuple[str, ...] = ()


# Shares are parts of a whole; a ratio of two counts that are not part and whole may exceed 1
# (brand_fast_daily.advancing_rate counts entrants over the earlier day's consumers).
RATES: Mapping[str, RateColumns] = {
    "brand_fast_daily": RateColumns("fast_date", ("deepening_rate", "thriving_rate"), ("advancing_rate",)),
    "identity_resolution_daily": RateColumns("counted_on_date", ("resolution_rate", "identification_rate")),
    "campaign_performance": RateColumns(
        "as_of_date",
        (
            "click_through_rate",
            "exposed_move_rate",
            "control_move_rate",
            "coupon_redemption_rate",
            "sample_to_purchase_rate",
        ),
    ),
}


@dataclass(frozen=True)
class GoldBatch:
    """One suite and the batch it validates."""

    suite: gx.ExpectationSuite
    asset: str
    frame: pd.DataFrame
    index_columns: tuple[str, ...] = ()  # name the rows a failed rule did not expect


def gold_batches(con: duckdb.DuckDBPyConnection, run_date: date, settings: Settings) -> list[GoldBatch]:
    """Every gold suite with its batch, read from the build file `con` is connected to."""
    return [
        _funnel(con, run_date, settings),
        _funnel_days(con, run_date, settings),
        _flow(con, run_date, settings),
        _touchpoints(con, run_date, settings),
        *(_rates(con, table, columns, run_date, settings) for table, columns in RATES.items()),
    ]


def funnel_suite(run_date: date, settings: Settings) -> gx.ExpectationSuite:
    counts = [f"consumers_{s}" for s in STATES]
    ratios = ["rate_a_to_i", "rate_i_to_p", "rate_p_to_l"]
    expectations = [
        check(
            "states_sum_to_asset_total",
            gxe.ExpectColumnPairValuesToBeEqual,
            column_A="asset_total",
            column_B="states_total",
        ),
        check(
            "one_row_per_brand_and_day",
            gxe.ExpectCompoundColumnsToBeUnique,
            column_list=["brand_id", "funnel_date"],
        ),
        check(
            "fresh(funnel_date)",
            gxe.ExpectColumnMaxToBeBetween,
            column="funnel_date",
            min_value=run_date,
            max_value=run_date,
        ),
        *(_not_negative(column) for column in [*counts, *ratios]),
    ]
    return build_suite("gold.funnel", expectations, settings.quality.severity)


def funnel_days_suite(settings: Settings) -> gx.ExpectationSuite:
    expectations = [
        check("no_missing_day", gxe.ExpectColumnValuesToBeBetween, column="funnel_rows", min_value=1)
    ]
    return build_suite("gold.funnel_days", expectations, settings.quality.severity)


def flow_suite(settings: Settings) -> gx.ExpectationSuite:
    expectations = [
        check("flows_present", gxe.ExpectTableRowCountToBeBetween, min_value=1),
        check(
            "flow_identity_d0",
            gxe.ExpectColumnPairValuesToBeEqual,
            column_A="consumers_d0",
            column_B="leaving_d0",
        ),
        check(
            "flow_d0_matches_states_followed",
            gxe.ExpectColumnPairValuesToBeEqual,
            column_A="consumers_d0",
            column_B="followed_d0",
        ),
        check(
            "flow_identity_d1",
            gxe.ExpectColumnPairValuesToBeEqual,
            column_A="consumers_d1",
            column_B="funnel_d1",
        ),
        _share("next_layer_rate"),
    ]
    return build_suite("gold.flow", expectations, settings.quality.severity)


def touchpoints_suite(run_date: date, settings: Settings) -> gx.ExpectationSuite:
    oldest = run_date - timedelta(days=settings.quality.touch_freshness_days)
    _, latest = business_dates(run_date, settings)  # events up to the clock-skew tolerance past midnight
    expectations = [
        check("has_one_id", gxe.ExpectColumnValuesToNotBeNull, column="one_id"),
        check("has_source_feed", gxe.ExpectColumnValuesToNotBeNull, column="source_feed"),
        check("has_source_record", gxe.ExpectColumnValuesToNotBeNull, column="source_record_id"),
        check(
            "fresh(touched_date)",
            gxe.ExpectColumnMaxToBeBetween,
            column="touched_date",
            min_value=oldest,
            max_value=latest,
        ),
    ]
    return build_suite("gold.touchpoints", expectations, settings.quality.severity)


def rates_suite(columns: RateColumns, settings: Settings) -> gx.ExpectationSuite:
    expectations = [*map(_share, columns.shares), *map(_not_negative, columns.ratios)]
    return build_suite("gold.rates", expectations, settings.quality.severity)


def _share(column: str):
    return check(
        f"share({column})", gxe.ExpectColumnValuesToBeBetween, column=column, min_value=0, max_value=1
    )


def _not_negative(column: str):
    return check(f"not_negative({column})", gxe.ExpectColumnValuesToBeBetween, column=column, min_value=0)


def _funnel(con: duckdb.DuckDBPyConnection, run_date: date, settings: Settings) -> GoldBatch:
    counts = ", ".join(f"CAST(consumers_{s} AS BIGINT) AS consumers_{s}" for s in STATES)
    query = f"""
        SELECT brand_id, funnel_date, {counts},
            CAST(asset_total AS BIGINT) AS asset_total,
            CAST(consumers_a + consumers_i + consumers_p + consumers_l AS BIGINT) AS states_total,
            rate_a_to_i, rate_i_to_p, rate_p_to_l
        FROM {MARTS}.aipl_daily_funnel
    """
    frame = _read(con, query, ["aipl_daily_funnel"])
    return GoldBatch(
        funnel_suite(run_date, settings), "aipl_daily_funnel", frame, ("brand_id", "funnel_date")
    )


def _funnel_days(con: duckdb.DuckDBPyConnection, run_date: date, settings: Settings) -> GoldBatch:
    query = f"""
        WITH firsts AS (
            SELECT brand_id, min(funnel_date) AS first_day FROM {MARTS}.aipl_daily_funnel GROUP BY brand_id
        ),
        calendar AS (
            SELECT brand_id, CAST(unnest(generate_series(first_day, {_literal(run_date)}, INTERVAL 1 DAY))
                AS DATE) AS funnel_date
            FROM firsts
        )
        SELECT calendar.brand_id, calendar.funnel_date, count(funnel.funnel_date) AS funnel_rows
        FROM calendar
        LEFT JOIN {MARTS}.aipl_daily_funnel AS funnel USING (brand_id, funnel_date)
        GROUP BY ALL
        ORDER BY ALL
    """
    frame = _read(con, query, ["aipl_daily_funnel"])
    return GoldBatch(funnel_days_suite(settings), "aipl_daily_funnel", frame, ("brand_id", "funnel_date"))


def _flow(con: duckdb.DuckDBPyConnection, run_date: date, settings: Settings) -> GoldBatch:
    states = ", ".join(f"consumers_{s} AS {s.upper()}" for s in STATES)
    depths = ", ".join(f"'{s.upper()}'" for s in STATES)
    d1 = _literal(run_date)
    # The d0 states followed to the consumers of d1, recounted from the spells and OneID's history:
    # `passed` is every id a d0 id's identifiers went through, one later night per step; those merged
    # away by d1 are nobody on d1.
    query = f"""
        WITH RECURSIVE funnel AS (
            UNPIVOT (SELECT brand_id, funnel_date, {states} FROM {MARTS}.aipl_daily_funnel)
            ON {", ".join(s.upper() for s in STATES)} INTO NAME state VALUE consumers
        ),
        into_state AS (
            SELECT brand_id, d0, d1, state_d1 AS state, sum(consumers) AS consumers
            FROM {MARTS}.aipl_flow
            WHERE d1 = {d1} AND state_d1 <> 'none'
            GROUP BY ALL
        ),
        pairs AS (
            SELECT DISTINCT d0, d1 FROM {MARTS}.aipl_flow WHERE d1 = {d1}
        ),
        changes AS (
            SELECT old_one_id, new_one_id, cause, day AS changed_date
            FROM {SILVER}.one_id_history
            WHERE day > (SELECT min(d0) FROM pairs) AND day <= {d1}
        ),
        held AS (
            SELECT pairs.d0, pairs.d1, spells.brand_id, spells.one_id,
                list_position([{depths}], spells.state) AS depth
            FROM pairs
            JOIN {MARTS}.aipl_state_history AS spells
                ON spells.valid_from <= pairs.d0 AND (spells.valid_to IS NULL OR spells.valid_to > pairs.d0)
        ),
        passed(d0, d1, held_id, one_id, changed_date) AS (
            SELECT DISTINCT d0, d1, one_id, one_id, d0 FROM held
            UNION
            SELECT passed.d0, passed.d1, passed.held_id, changes.new_one_id, changes.changed_date
            FROM passed
            JOIN changes
                ON changes.old_one_id = passed.one_id
                AND changes.changed_date > passed.changed_date AND changes.changed_date <= passed.d1
        ),
        followed AS (
            SELECT held.brand_id, held.d0, held.d1, passed.one_id, max(held.depth) AS depth
            FROM held
            JOIN passed ON passed.d0 = held.d0 AND passed.d1 = held.d1 AND passed.held_id = held.one_id
            WHERE NOT EXISTS (
                SELECT 1 FROM changes
                WHERE changes.cause = 'merge' AND changes.old_one_id = passed.one_id
                    AND changes.changed_date > passed.d0 AND changes.changed_date <= passed.d1
            )
            GROUP BY ALL
        ),
        followed_d0 AS (
            SELECT brand_id, d0, d1, [{depths}][depth] AS state, count(*) AS consumers
            FROM followed
            GROUP BY ALL
        )
        SELECT metrics.brand_id, metrics.d0, metrics.d1, metrics.lag_days, metrics.state,
            CAST(metrics.consumers_d0 AS BIGINT) AS consumers_d0,
            CAST(metrics.stayed + metrics.converted_up + metrics.converted_down + metrics.churned AS BIGINT)
                AS leaving_d0,
            CAST(coalesce(followed_d0.consumers, 0) AS BIGINT) AS followed_d0,
            CAST(coalesce(into_state.consumers, 0) AS BIGINT) AS consumers_d1,
            CAST(coalesce(at_d1.consumers, 0) AS BIGINT) AS funnel_d1,
            metrics.next_layer_rate
        FROM {MARTS}.aipl_flow_metrics AS metrics
        LEFT JOIN followed_d0
            ON followed_d0.brand_id = metrics.brand_id AND followed_d0.d0 = metrics.d0
            AND followed_d0.d1 = metrics.d1 AND followed_d0.state = metrics.state
        LEFT JOIN funnel AS at_d1
            ON at_d1.brand_id = metrics.brand_id AND at_d1.funnel_date = metrics.d1
            AND at_d1.state = metrics.state
        LEFT JOIN into_state
            ON into_state.brand_id = metrics.brand_id AND into_state.d0 = metrics.d0
            AND into_state.d1 = metrics.d1 AND into_state.state = metrics.state
        WHERE metrics.d1 = {d1}
        ORDER BY ALL
    """
    frame = _read(
        con,
        query,
        [
            "aipl_flow_metrics",
            "aipl_flow",
            "aipl_daily_funnel",
            "aipl_state_history",
            f"{SILVER}.one_id_history",
        ],
    )
    return GoldBatch(flow_suite(settings), "aipl_flow_metrics", frame, ("brand_id", "lag_days", "state"))


def _touchpoints(con: duckdb.DuckDBPyConnection, run_date: date, settings: Settings) -> GoldBatch:
    # The night's touchpoints, and any older one without its consumer or source: a merge that
    # re-resolved old touches must not leave one behind, and the filter costs DuckDB a scan, not pandas.
    query = f"""
        SELECT touchpoint_id, one_id, source_feed, source_record_id, touched_date, loaded_date
        FROM {MARTS}.fct_touchpoints
        WHERE loaded_date = {_literal(run_date)}
            OR one_id IS NULL OR source_feed IS NULL OR source_record_id IS NULL
    """
    frame = _read(con, query, ["fct_touchpoints"])
    return GoldBatch(touchpoints_suite(run_date, settings), "fct_touchpoints", frame, ("touchpoint_id",))


def _rates(
    con: duckdb.DuckDBPyConnection, table: str, columns: RateColumns, run_date: date, settings: Settings
) -> GoldBatch:
    selected = ", ".join([columns.day_column, *columns.shares, *columns.ratios])
    query = f"SELECT {selected} FROM {MARTS}.{table} WHERE {columns.day_column} = {_literal(run_date)}"
    return GoldBatch(rates_suite(columns, settings), table, _read(con, query, [table]))


def _read(con: duckdb.DuckDBPyConnection, query: str, tables: list[str]) -> pd.DataFrame:
    """The query's rows; a frame without columns when a table it reads (a mart, or `schema.table`) is
    not in the build."""
    present = {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
    }
    if not {table if "." in table else f"{MARTS}.{table}" for table in tables} <= present:
        return pd.DataFrame()
    return as_frame(con.sql(query).to_arrow_table())


def _literal(day: date) -> str:
    return f"DATE '{day.isoformat()}'"
