"""Compile an audience definition into one DuckDB query over the warehouse marts.

The SQL text is assembled only from the fixed fragments below and the dbt project's distance_km
macro; every value of a definition reaches the query as a bound parameter (`$name`), and the only
identifier that varies, the consent column, is looked up in a fixed whitelist. So a definition can
change what the query matches, never what it does.

The query returns one row per matched consumer of dim_consumers (the current OneIDs):

- `one_id`;
- `member_id_hmac`: a membership of the audience's brand that carries the consent, or null;
- `has_consent`: the consumer holds an active membership of the brand, and every active membership
  of theirs with the brand carries the consent flag of the export's purpose (one withdrawal is
  enough to exclude them). Consent is read from dim_memberships, the CRM as last known to the
  warehouse, whatever the run day: an export made now honours a consent withdrawn since.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from jinja2.sandbox import SandboxedEnvironment

from databank.audiences.definition import (
    COMBINATIONS,
    AudienceDefinition,
    AudienceError,
    Block,
    Criteria,
    walk,
)
from databank.dbt_project import find_dbt_project

ACTIVATION_KEYS = ("one_id", "member_id_hmac")
CONSENT_COLUMNS = {
    "has_marketing_consent": "memberships.has_marketing_consent",
    "has_ad_targeting_consent": "memberships.has_ad_targeting_consent",
}
# The consumer's state for the brand on a day given by a fixed parameter name; none without a spell.
STATE_ON = """coalesce((
        select any_value(spells.state)
        from marts.aipl_state_history as spells
        where
            spells.one_id = consumers.one_id
            and spells.brand_id = $brand_id
            and spells.valid_from <= {day}
            and (spells.valid_to is null or spells.valid_to > {day})
    ), 'none')"""
DISTANCE_MACROS = Path("macros") / "distance_km.sql"  # in the dbt project


@dataclass(frozen=True)
class Predicate:
    """One condition on `consumers` (dim_consumers) and the parameters it binds."""

    sql: str
    parameters: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class CompiledAudience:
    """The audience query and its bound parameters."""

    sql: str
    parameters: dict[str, object]

    @property
    def count_sql(self) -> str:
        """Matched and consenting consumers."""
        return (
            "select count(*) as matched, count(*) filter (where has_consent) as consenting\n"
            f"from (\n{self.sql}\n) as audience"
        )

    @property
    def export_sql(self) -> str:
        """The activation keys of the consenting consumers, in a stable order."""
        return (
            f"select {', '.join(ACTIVATION_KEYS)}\n"
            f"from (\n{self.sql}\n) as audience\n"
            "where has_consent\n"
            "order by one_id"
        )


Resolve = Callable[[str], AudienceDefinition]  # a saved audience's definition, by name
COMBINED_WITH = {"all_of": " and ", "any_of": " or ", "none_of": " or "}
MAX_SAVED_AUDIENCES = 20  # compiled into one query, nested ones included


def compile_audience(
    definition: AudienceDefinition, run_date: date, consent_flag: str, resolve: Resolve | None = None
) -> CompiledAudience:
    """The query of `definition` on `run_date`, consent read from the dim_memberships flag `consent_flag`;
    `resolve` loads the saved audiences its criteria name (`audience: <name>`)."""
    if consent_flag not in CONSENT_COLUMNS:
        raise AudienceError(f"{consent_flag!r} is no consent flag; known: {', '.join(CONSENT_COLUMNS)}")
    resolve = resolve or _no_saved_audiences
    _count_saved_audiences(definition, resolve, ())
    condition = _condition(definition, run_date, "brand_id", "", resolve)
    parameters: dict[str, object] = {
        "brand_id": definition.brand_id,
        "run_date": run_date,
        **condition.parameters,
    }
    sql = f"""with consenting_members as (
    select
        memberships.one_id,
        min(memberships.member_id_hmac) as member_id_hmac
    from marts.dim_memberships as memberships
    where
        memberships.brand_id = $brand_id
        and memberships.is_active
        and memberships.one_id is not null
    group by memberships.one_id
    having bool_and(coalesce({CONSENT_COLUMNS[consent_flag]}, false))
)

select
    consumers.one_id,
    consenting_members.member_id_hmac,
    consenting_members.one_id is not null as has_consent
from marts.dim_consumers as consumers
left join consenting_members
    on consumers.one_id = consenting_members.one_id
where
    {condition.sql}"""
    # DuckDB refuses a parameter the text does not use: a block's brand may be used by none of its
    # criteria (its criteria all being saved audiences, which bind their own).
    used = {name: value for name, value in parameters.items() if re.search(rf"\${name}\b", sql)}
    return CompiledAudience(sql, used)


def _condition(
    criteria: Criteria,
    run_date: date,
    brand_parameter: str,
    prefix: str,
    resolve: Resolve,
) -> Predicate:
    """One condition on `consumers` for a set of criteria: its own criteria, its saved audience and
    its blocks' combinations, all of which must hold. Parameters are named with `prefix`, so a value
    of one block never binds in another; the brand is the parameter `brand_parameter`."""
    parts = [_named(predicate, prefix, brand_parameter) for predicate in _predicates(criteria, run_date)]
    if criteria.audience is not None:
        parts.append(_in_saved_audience(criteria.audience, run_date, prefix, resolve))
    for combination in COMBINATIONS:
        blocks = getattr(criteria, combination) or ()
        if blocks:
            parts.append(_combined(combination, blocks, run_date, brand_parameter, prefix, resolve))
    return _all(parts)


def _combined(
    combination: str,
    blocks: tuple[Block, ...],
    run_date: date,
    brand_parameter: str,
    prefix: str,
    resolve: Resolve,
) -> Predicate:
    children = []
    for number, block in enumerate(blocks):
        block_prefix = f"{prefix}{combination}{number}_"
        brand = brand_parameter if block.brand_id is None else f"{block_prefix}brand_id"
        child = _condition(block, run_date, brand, block_prefix, resolve)
        own_brand = {} if block.brand_id is None else {brand: block.brand_id}
        children.append(Predicate(child.sql, {**own_brand, **child.parameters}))
    joined = COMBINED_WITH[combination].join(f"({child.sql})" for child in children)
    parameters = {name: value for child in children for name, value in child.parameters.items()}
    # none_of: a block that cannot place a consumer (null, e.g. `in` over a subquery holding an
    # unresolved touch's null one_id) does not hold, so it excludes nobody.
    sql = f"not coalesce(({joined}), false)" if combination == "none_of" else f"({joined})"
    return Predicate(sql, parameters)


def _in_saved_audience(name: str, run_date: date, prefix: str, resolve: Resolve) -> Predicate:
    """Membership of the saved audience `name`: its criteria (with its own brand), not its consent."""
    saved = resolve(name)  # circles were refused by _count_saved_audiences
    saved_prefix = f"{prefix}audience_"
    brand = f"{saved_prefix}brand_id"
    inner = _condition(saved, run_date, brand, saved_prefix, resolve)
    return Predicate(
        f"""consumers.one_id in (
        select consumers.one_id
        from marts.dim_consumers as consumers
        where {inner.sql}
    )""",
        {brand: saved.brand_id, **inner.parameters},
    )


def _count_saved_audiences(
    criteria: Criteria, resolve: Resolve, within: tuple[str, ...], seen: int = 0
) -> int:
    """How many saved audiences compiling `criteria` compiles, at any depth; an AudienceError beyond
    MAX_SAVED_AUDIENCES (files that each name the next twice would grow the query exponentially) or
    for a circle."""
    for named, _ in walk(criteria):
        if named.audience is None:
            continue
        if named.audience in within:
            raise AudienceError(
                f"audiences name each other in a circle: {' -> '.join((*within, named.audience))}"
            )
        seen += 1
        if seen > MAX_SAVED_AUDIENCES:
            raise AudienceError(
                f"the criteria name more than {MAX_SAVED_AUDIENCES} saved audiences, counting nested ones"
            )
        seen = _count_saved_audiences(resolve(named.audience), resolve, (*within, named.audience), seen)
    return seen


def _no_saved_audiences(name: str) -> AudienceDefinition:
    raise AudienceError(f"the criteria name the audience {name!r}, and no audience folder was given")


def _named(predicate: Predicate, prefix: str, brand_parameter: str) -> Predicate:
    """The predicate with its parameters renamed `<prefix><name>` and the brand read from
    `brand_parameter` ($run_date is the same everywhere)."""
    sql = predicate.sql
    for name in predicate.parameters:
        sql = re.sub(rf"\${name}\b", f"${prefix}{name}", sql)
    if brand_parameter != "brand_id":
        sql = re.sub(r"\$brand_id\b", f"${brand_parameter}", sql)
    return Predicate(sql, {f"{prefix}{name}": value for name, value in predicate.parameters.items()})


def _all(parts: list[Predicate]) -> Predicate:
    parameters = {name: value for part in parts for name, value in part.parameters.items()}
    return Predicate("\n    and ".join(f"({part.sql})" for part in parts), parameters)


def _predicates(criteria: Criteria, run_date: date) -> list[Predicate]:
    """The criteria given directly in `criteria`, one predicate each."""
    predicates = []
    if criteria.aipl_states is not None:
        predicates.append(_in_states(criteria.aipl_states))
    if criteria.aipl_flow is not None:
        flow = criteria.aipl_flow
        predicates.append(_in_flow_cell(flow.state_d0, flow.state_d1, flow.lag_days))
    if criteria.lifecycle_stages is not None:
        predicates.append(_in_lifecycle_stages(criteria.lifecycle_stages))
    if criteria.rfm_classes is not None:
        predicates.append(_in_rfm_classes(criteria.rfm_classes))
    if criteria.trade_area is not None:
        predicates.append(_in_trade_area(criteria.trade_area.store_id, criteria.trade_area.rings))
    if criteria.campaign_exposure is not None:
        exposure = criteria.campaign_exposure
        predicates.append(
            _exposed_to(exposure.campaign_id, exposure.behaviours, exposure.within_days, run_date)
        )
    if criteria.last_seen_within_days is not None:
        predicates.append(_seen_since(run_date - timedelta(days=criteria.last_seen_within_days - 1)))
    return predicates


def _in_states(states: tuple[str, ...]) -> Predicate:
    return Predicate(
        f"list_contains($aipl_states, {STATE_ON.format(day='$run_date')})", {"aipl_states": list(states)}
    )


def _in_flow_cell(state_d0: str, state_d1: str, lag_days: int) -> Predicate:
    # The cell's members as aipl_flow counts them: followed through OneID's merges and splits.
    return Predicate(
        """consumers.one_id in (
        select flows.one_id
        from marts.aipl_flow_consumers as flows
        where
            flows.brand_id = $brand_id
            and flows.d1 = $run_date
            and flows.lag_days = $flow_lag_days
            and flows.state_d0 = $flow_state_d0
            and flows.state_d1 = $flow_state_d1
    )""",
        {"flow_lag_days": lag_days, "flow_state_d0": state_d0, "flow_state_d1": state_d1},
    )


def _in_lifecycle_stages(stages: tuple[str, ...]) -> Predicate:
    return Predicate(
        """consumers.one_id in (
        select lifecycle.one_id
        from marts.consumer_lifecycle as lifecycle
        where
            lifecycle.brand_id = $brand_id
            and lifecycle.as_of_date = $run_date
            and list_contains($lifecycle_stages, lifecycle.lifecycle_stage)
    )""",
        {"lifecycle_stages": list(stages)},
    )


def _in_rfm_classes(classes: tuple[str, ...]) -> Predicate:
    return Predicate(
        """consumers.one_id in (
        select rfm.one_id
        from marts.consumer_rfm as rfm
        where
            rfm.brand_id = $brand_id
            and rfm.as_of_date = $run_date
            and list_contains($rfm_classes, rfm.rfm_class)
    )""",
        {"rfm_classes": list(classes)},
    )


def _in_trade_area(store_id: str, rings: tuple[int, ...]) -> Predicate:
    """store_trade_areas' rule per consumer: the nearer of home and work places them in (inner, outer] km
    (ring 1 from the store itself), with the ring bounds read from the mart."""
    distance = distance_km_sql("locations.lat", "locations.lon", "stores.lat", "stores.lon")
    return Predicate(
        f"""consumers.one_id in (
        select nearest.one_id
        from (
            select
                locations.one_id,
                min({distance}) as distance_km
            from intermediate.int_consumer_locations as locations
            inner join marts.dim_stores as stores
                on stores.store_id = $trade_area_store_id
            group by locations.one_id
        ) as nearest
        inner join marts.store_trade_areas as rings
            on
                rings.store_id = $trade_area_store_id
                and rings.as_of_date = $run_date
                and nearest.distance_km <= rings.ring_outer_km
                and (nearest.distance_km > rings.ring_inner_km or rings.ring_no = 1)
        where list_contains($trade_area_rings, rings.ring_no)
    )""",
        {"trade_area_store_id": store_id, "trade_area_rings": list(rings)},
    )


def _exposed_to(
    campaign_id: str, behaviours: tuple[str, ...], within_days: int | None, run_date: date
) -> Predicate:
    since = run_date - timedelta(days=within_days - 1) if within_days is not None else date.min
    return Predicate(
        """consumers.one_id in (
        select touches.one_id
        from marts.fct_touchpoints as touches
        where
            touches.campaign_id = $campaign_id
            and list_contains($campaign_behaviours, touches.behaviour)
            and touches.touched_date between $campaign_since and $run_date
    )""",
        {"campaign_id": campaign_id, "campaign_behaviours": list(behaviours), "campaign_since": since},
    )


def _seen_since(since: date) -> Predicate:
    return Predicate(
        """consumers.one_id in (
        select touches.one_id
        from marts.fct_touchpoints as touches
        where
            touches.brand_id = $brand_id
            and touches.touched_date between $seen_since and $run_date
    )""",
        {"seen_since": since},
    )


def distance_km_sql(lat1: str, lon1: str, lat2: str, lon2: str, project: Path | None = None) -> str:
    """The SQL the dbt macro distance_km renders on DuckDB for these coordinate expressions, so rings
    agree with store_trade_areas to the bit: the formula lives in the macro alone. `project`: the dbt
    project, found as dbt runs are when not given."""
    macros = _distance_macros(project or find_dbt_project())
    # What adapter.dispatch picks for dbt-duckdb: a DuckDB implementation if the project has one.
    render = getattr(macros, "duckdb__distance_km", None) or macros.default__distance_km
    return str(render(lat1, lon1, lat2, lon2)).strip()


@cache
def _distance_macros(project: Path):
    """The macros of the project's distance_km.sql, rendered with plain Jinja: the SQL of its
    implementations uses no dbt context."""
    return SandboxedEnvironment().from_string((project / DISTANCE_MACROS).read_text()).module
