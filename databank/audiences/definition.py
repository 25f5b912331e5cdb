"""Audience definitions: one YAML file per audience, `<folder>/<name>.yaml`, checked field by field.

A definition names one brand, the purpose of its exports (which decides the consent that applies) and
at least one criterion; a consumer belongs to the audience when every criterion given holds:

    description: Members interested in the brand who have not bought yet
    brand_id: B01
    purpose: marketing              # marketing | ad_targeting
    aipl_states: [I]                # state on the run day: none, O, A, I, P, L
    aipl_flow: {state_d0: L, state_d1: P, lag_days: 7}   # instead of aipl_states: a cell of aipl_flow
    lifecycle_stages: [at_risk, dormant]
    rfm_classes: [important_retention]
    trade_area: {store_id: S01001, rings: [1, 2]}
    campaign_exposure: {campaign_id: C0101, behaviours: [click], within_days: 14}
    last_seen_within_days: 30       # a touchpoint of the brand in the N days ending on the run day
    audience: loyal_members         # a member of another saved audience of the folder (its criteria)

Blocks of the same criteria combine: `all_of` (every block holds), `any_of` (at least one does),
`none_of` (not one does), nested up to MAX_DEPTH deep, MAX_BLOCKS blocks in all. A block may name its
own `brand_id`, the brand its criteria are read for (the cross-brand case; consent stays the
audience's brand's):

    brand_id: B01
    purpose: ad_targeting
    aipl_states: [P]                               # bought B01 ...
    none_of: [{brand_id: B02, aipl_states: [A, I]}]  # ... and is neither aware of nor interested in B02

Unknown fields, unknown values, ids that are not plain ids and windows that are not whole days from
1 to ten years are errors; so are YAML anchors and aliases and files over 64 KiB, which no definition
needs and which would let a small file expand into a huge one. Whether the brand, store, campaign,
ring and flow lag exist, in every block and every saved audience named, is checked against the
warehouse when the audience is sized, profiled, exported or synced (`databank.audiences.checks`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from databank.config import Purpose

State = Literal["none", "O", "A", "I", "P", "L"]
LifecycleStage = Literal["new", "reactivated", "active", "at_risk", "dormant", "churned"]
RfmClass = Literal[
    "important_value",
    "important_development",
    "important_retention",
    "important_winback",
    "general_value",
    "general_development",
    "general_retention",
    "general_winback",
]
MediaBehaviour = Literal["impression", "video_view", "live_view", "click", "interactive"]

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
DEFINITION_SUFFIX = ".yaml"
MAX_WINDOW_DAYS = 3650
MAX_DEFINITION_BYTES = 64 * 1024
MAX_PROBLEMS_SHOWN = 10
MAX_VALUE_SHOWN = 60  # characters of an offending value quoted in a message


class AudienceError(Exception):
    """An audience cannot be loaded, sized or exported; the message says why, for the person asking."""


def _audience_name(value: str) -> str:
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError(f"{value!r} is not an audience name (up to 64 letters, digits, _ and -)")
    return value


def _plain_id(value: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise ValueError(f"{value!r} is not an id (up to 64 letters, digits and _ . : -)")
    return value


WarehouseId = Annotated[str, AfterValidator(_plain_id)]
AudienceName = Annotated[str, AfterValidator(_audience_name)]
# strict: YAML's `true` or `7.5` is no number of days.
Days = Annotated[int, Field(strict=True, gt=0, le=MAX_WINDOW_DAYS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlowCell(_Strict):
    """Consumers in state_d0 lag_days before the run day and in state_d1 on it: a cell of aipl_flow."""

    state_d0: State
    state_d1: State
    lag_days: Days

    @model_validator(mode="after")
    def _some_state(self) -> FlowCell:
        if self.state_d0 == "none" and self.state_d1 == "none":
            raise ValueError("none -> none is no flow cell: it is everyone outside the brand's funnel")
        return self


class TradeArea(_Strict):
    """Consumers placed in one of these rings of the store by store_trade_areas (nearer of home or work)."""

    store_id: WarehouseId
    rings: tuple[Days, ...] = Field(min_length=1)


class CampaignExposure(_Strict):
    """Consumers with a touch of these media behaviours of the campaign, optionally within the last days."""

    campaign_id: WarehouseId
    behaviours: tuple[MediaBehaviour, ...] = Field(get_args(MediaBehaviour), min_length=1)
    within_days: Days | None = None


MAX_DEPTH = 5  # nesting of all_of / any_of / none_of
MAX_BLOCKS = 50  # blocks in one definition: each is a subquery


class Criteria(_Strict):
    """Criteria that must all hold (AND), and blocks of criteria combined as their key says:
    `all_of` (every block holds), `any_of` (at least one does), `none_of` (not one does). `audience`
    is membership of another saved audience of the folder (its criteria, not its consent)."""

    aipl_states: tuple[State, ...] | None = Field(None, min_length=1)
    aipl_flow: FlowCell | None = None
    lifecycle_stages: tuple[LifecycleStage, ...] | None = Field(None, min_length=1)
    rfm_classes: tuple[RfmClass, ...] | None = Field(None, min_length=1)
    trade_area: TradeArea | None = None
    campaign_exposure: CampaignExposure | None = None
    last_seen_within_days: Days | None = None
    audience: AudienceName | None = None
    all_of: tuple[Block, ...] | None = Field(None, min_length=1)
    any_of: tuple[Block, ...] | None = Field(None, min_length=1)
    none_of: tuple[Block, ...] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _criteria_make_sense(self) -> Criteria:
        if not any(getattr(self, name) is not None for name in (*CRITERIA, *COMBINATIONS)):
            raise ValueError(f"at least one criterion is needed: {', '.join((*CRITERIA, *COMBINATIONS))}")
        if self.aipl_states is not None and self.aipl_flow is not None:
            raise ValueError(
                "give aipl_states or aipl_flow, not both: a flow cell already fixes the state on the run day"
            )
        return self

    def blocks(self) -> list[tuple[str, Block]]:
        """The blocks directly under these criteria, each with the combination it belongs to."""
        return [(key, block) for key in COMBINATIONS for block in getattr(self, key) or ()]


class Block(Criteria):
    """A block of criteria; its `brand_id`, if given, is the brand they are read for (else the brand
    of the block around it): "bought brand A and is not aware of brand B"."""

    brand_id: WarehouseId | None = None


class AudienceDefinition(Criteria):
    """What one YAML file says: the brand, the purpose of its exports, and its criteria (those given
    at the top must all hold, as must its blocks' combinations)."""

    description: str = ""
    brand_id: WarehouseId
    purpose: Purpose

    @model_validator(mode="after")
    def _bounded(self) -> AudienceDefinition:
        depth, blocks = _extent(self)
        if depth > MAX_DEPTH:
            raise ValueError(f"blocks nest {depth} deep; at most {MAX_DEPTH}")
        if blocks > MAX_BLOCKS:
            raise ValueError(f"{blocks} blocks; at most {MAX_BLOCKS} in one definition")
        return self


def walk(criteria: Criteria, brand_id: str | None = None) -> list[tuple[Criteria, str]]:
    """These criteria and every block under them, depth first, each with the brand it is read for."""
    brand_id = getattr(criteria, "brand_id", None) or brand_id
    found = [(criteria, brand_id)]
    for _, block in criteria.blocks():
        found += walk(block, brand_id)
    return found


def _extent(criteria: Criteria) -> tuple[int, int]:
    """How deep blocks nest under `criteria`, and how many blocks there are."""
    children = [_extent(block) for _, block in criteria.blocks()]
    depth = 1 + max(d for d, _ in children) if children else 0
    return depth, sum(1 + n for _, n in children)


CRITERIA = (
    "aipl_states",
    "aipl_flow",
    "lifecycle_stages",
    "rfm_classes",
    "trade_area",
    "campaign_exposure",
    "last_seen_within_days",
    "audience",
)
COMBINATIONS = ("all_of", "any_of", "none_of")


@dataclass(frozen=True)
class Audience:
    """A definition as loaded from its file."""

    name: str
    path: Path
    definition: AudienceDefinition


def load_audience(folder: Path, name: str) -> Audience:
    """The audience `name` of `folder`, validated; an AudienceError saying what is wrong otherwise."""
    if not NAME_PATTERN.fullmatch(name):
        raise AudienceError(f"{name!r} is not an audience name (up to 64 letters, digits, _ and -)")
    path = folder / f"{name}{DEFINITION_SUFFIX}"
    if not path.is_file():
        raise AudienceError(
            f"no audience {name!r}: {path} does not exist (`databank audience list` shows those in {folder})"
        )
    return Audience(name, path, parse_definition(path))


def save_definition(
    folder: Path, name: str, definition: AudienceDefinition, *, replace: bool = False
) -> Path:
    """Write `definition` as `<folder>/<name>.yaml`, loaded back to be sure it reads as written; an
    existing audience is only replaced when asked (exports and syncs name it)."""
    if not NAME_PATTERN.fullmatch(name):
        raise AudienceError(f"{name!r} is not an audience name (up to 64 letters, digits, _ and -)")
    path = folder / f"{name}{DEFINITION_SUFFIX}"
    if path.exists() and not replace:
        raise AudienceError(f"audience {name!r} exists ({path}): choose another name, or replace it")
    content = definition.model_dump(mode="json", exclude_none=True)
    text = yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    try:
        if parse_definition(partial) != definition:
            raise AudienceError(f"audience {name!r} does not read back as it was written; nothing saved")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def saved_audiences(folder: Path) -> Callable[[str], AudienceDefinition]:
    """Loads the saved audiences of `folder` that criteria name (`audience: <name>`)."""
    return lambda name: load_audience(folder, name).definition


def list_audiences(folder: Path) -> list[tuple[str, Audience | AudienceError]]:
    """Every definition file of `folder` by name, loaded, or the error that keeps it from loading."""
    if not folder.is_dir():
        raise AudienceError(
            f"no audience folder {folder} (set [audiences] folder or DATABANK_AUDIENCES__FOLDER)"
        )
    listed: list[tuple[str, Audience | AudienceError]] = []
    for path in sorted(folder.glob(f"*{DEFINITION_SUFFIX}")):
        try:
            listed.append((path.stem, load_audience(folder, path.stem)))
        except AudienceError as error:
            listed.append((path.stem, error))
    return listed


def parse_definition(path: Path) -> AudienceDefinition:
    """The definition in the YAML file `path`."""
    if path.stat().st_size > MAX_DEFINITION_BYTES:
        raise AudienceError(f"{path} is larger than {MAX_DEFINITION_BYTES // 1024} KiB: no definition is")
    try:
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=_DefinitionLoader)
    except yaml.YAMLError as error:
        raise AudienceError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(content, dict):
        raise AudienceError(f"{path} must hold a mapping of fields (brand_id, purpose, criteria)")
    return validate_definition(content, str(path))


def validate_definition(content: dict[str, Any], source: str = "the definition") -> AudienceDefinition:
    """`content` as a definition; an AudienceError listing what is wrong otherwise."""
    try:
        return AudienceDefinition.model_validate(content)
    except ValidationError as error:
        found = error.errors()
        problems = "\n".join(f"  {_describe(problem)}" for problem in found[:MAX_PROBLEMS_SHOWN])
        if len(found) > MAX_PROBLEMS_SHOWN:
            problems += f"\n  ... and {len(found) - MAX_PROBLEMS_SHOWN} more problems"
        raise AudienceError(f"{source} is not a valid audience:\n{problems}") from error


def flow_cell_audience(
    brand_id: str, purpose: str, state_d0: str, state_d1: str, lag_days: int, description: str = ""
) -> AudienceDefinition:
    """A cell of the AIPL flow as a definition: `state_d0` lag_days before the run day, `state_d1` on it."""
    flow = {"state_d0": state_d0, "state_d1": state_d1, "lag_days": lag_days}
    return validate_definition(
        {"description": description, "brand_id": brand_id, "purpose": purpose, "aipl_flow": flow}
    )


def _describe(problem: Any) -> str:
    where = ".".join(str(part) for part in problem["loc"]) or "definition"
    if problem["type"] == "extra_forbidden":
        return f"{where}: unknown field (known: {', '.join(_fields_at(problem['loc']))})"
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] in ("missing", "value_error") or problem["loc"] == ():
        return f"{where}: {message}"
    got = repr(problem["input"])
    if len(got) > MAX_VALUE_SHOWN:
        got = got[:MAX_VALUE_SHOWN] + "..."
    return f"{where}: {message} (got {got})"


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """The fields of the model that holds the field at `loc` (list positions skipped)."""
    model: type[BaseModel] = AudienceDefinition
    for part in loc[:-1]:
        if isinstance(part, str):
            model = _model_in(model.model_fields[part].annotation) or model
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field's annotation holds, through Optional and tuples."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for arg in get_args(annotation) if (m := _model_in(arg)) is not None), None)


class _DefinitionLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice is an error rather than the last one winning,
    and anchors and aliases are refused."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases are not allowed in an audience definition", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = sorted({str(key) for key in keys if keys.count(key) > 1})
        if repeated:
            raise yaml.constructor.ConstructorError(
                None, None, f"field {', '.join(repeated)} given more than once", node.start_mark
            )
        return super().construct_mapping(node, deep=deep)
