"""`generate`: a brand group's feeds for a range of days, plus the ground truth behind them.

Output layout under `out`:
    <feed>/dt=YYYY-MM-DD/<file>     every event and reference feed, as source systems deliver it
    _truth/persons.parquet          one row per person: household, city, home and work location
    _truth/records.parquet          feed, record_id, person_id, dt: who produced each record
    _truth/identifiers.parquet      identifier_type, namespace, value, person_id, owner_kind
    _truth/defects.parquet          feed, file, record, kind, column: every damage done on purpose
    _truth/summary.json             the arguments and the rows written per feed

Identifier values in the truth are spelled canonically (a phone as its 11 digits, ids as generated);
the feeds spell them as their systems do (+86, spaces, dashes, other letter case). The pipeline
never reads `_truth/`.
"""

from __future__ import annotations

import json
import shutil
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from databank.contracts import feeds, load_contract
from databank.generator.delivery import Delivery
from databank.generator.population import (
    PLACEHOLDER_PHONES,
    PLATFORMS,
    ZERO_IDFA,
    Population,
    build_population,
)
from databank.generator.rates import Rates
from databank.generator.simulate import Simulation, utc_offset_ms
from databank.generator.world import World, build_world

TRUTH_DIR = "_truth"
# Sources that send a file every day, an empty one when they have nothing: the event feeds, and the
# CRM's daily export of member changes. Reference snapshots are sent only when they change.
DAILY_FEEDS = (*feeds("event"), "members")
DEFAULT_RATES = Rates()
REFERENCE_TABLES = ("brands", "stores", "products", "campaigns", "keywords")
RECORDS_SCHEMA = pa.schema(
    [("feed", pa.string()), ("record_id", pa.string()), ("person_id", pa.string()), ("dt", pa.date32())]
)


@dataclass(frozen=True)
class GenerateArgs:
    out: Path
    consumers: int
    days: int
    start: date
    seed: int
    bad_rate: float = 0.005
    timezone: str = "Asia/Shanghai"


@dataclass
class GenerationSummary:
    args: dict
    rows: Counter = field(default_factory=Counter)
    files: int = 0
    defects: Counter = field(default_factory=Counter)


DayCallback = Callable[[int, date, int], None]


def generate(
    args: GenerateArgs, on_day: DayCallback | None = None, rates: Rates = DEFAULT_RATES
) -> GenerationSummary:
    """Write the feeds and the truth for `args`; call `on_day(index, day, rows)` after each day."""
    if args.consumers < 1 or args.days < 1:
        raise ValueError("need at least one consumer and one day")
    if not 0 <= args.bad_rate <= 0.5:
        raise ValueError("bad_rate must lie in [0, 0.5]")
    tz = ZoneInfo(args.timezone)
    out = args.out
    if out.exists():
        shutil.rmtree(out)
    (out / TRUTH_DIR).mkdir(parents=True)

    rng_for = rng_factory(args.seed)
    world = build_world(rng_for("world"), args.consumers, args.start, args.days)
    people = build_population(rng_for("population"), args.consumers, world, rates)
    simulation = Simulation(world, people, rates, tz, rng_for)
    # Where the output went is not part of what was generated: the same arguments give the same bytes.
    summary = GenerationSummary(args={k: str(v) for k, v in asdict(args).items() if k != "out"})
    _write_persons(out, people)

    with pq.ParquetWriter(out / TRUTH_DIR / "records.parquet", RECORDS_SCHEMA) as records:
        for index in range(args.days):
            day = args.start + timedelta(days=index)
            delivery = Delivery(out, utc_offset_ms(day, tz), args.bad_rate)
            tables = simulation.day(index)
            if index == 0:
                tables |= reference_tables(world, day)
            rows_today = 0
            for feed in sorted(tables):
                table = tables[feed]
                contract = load_contract(feed)
                paths = delivery.deliver(
                    contract,
                    table,
                    f"{day:%Y%m%d}",
                    rng_for(f"deliver:{feed}", index),
                    damage=contract.kind == "event",
                )
                summary.files += len(paths)
                summary.rows[feed] += table.num_rows
                rows_today += table.num_rows
                if "_person" in table.column_names:
                    records.write_table(_truth_records(feed, contract.record_id, table, people, day))
            for feed in sorted(set(DAILY_FEEDS) - set(tables)):
                delivery.deliver_nothing(load_contract(feed), f"{day:%Y%m%d}")
                summary.files += 1
            defects = delivery.take_defects()
            summary.defects.update(d["kind"] for d in defects)
            _append_defects(out, defects, index)
            if on_day:
                on_day(index, day, rows_today)

    _finish_defects(out)
    _write_identifiers(out, people, simulation)
    (out / TRUTH_DIR / "summary.json").write_text(
        json.dumps(
            {
                "args": summary.args,
                "rows": dict(sorted(summary.rows.items())),
                "files": summary.files,
                "defects": dict(sorted(summary.defects.items())),
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    return summary


def rng_factory(seed: int) -> Callable[..., np.random.Generator]:
    """Independent, reproducible streams per component and day, so one change stays local."""

    def rng_for(component: str, index: int = -1) -> np.random.Generator:
        return np.random.default_rng(
            np.random.SeedSequence([seed, zlib.crc32(component.encode()), index + 1])
        )

    return rng_for


def reference_tables(world: World, day: date) -> dict[str, pa.Table]:
    tables = {}
    for name in REFERENCE_TABLES:
        table: pa.Table = getattr(world, name)
        tables[name] = table.append_column("_file", pa.array([f"{name}_{day:%Y%m%d}.csv"] * table.num_rows))
    return tables


def _truth_records(feed: str, record_id: str, table: pa.Table, people: Population, day: date) -> pa.Table:
    return pa.table(
        {
            "feed": pa.array([feed] * table.num_rows, pa.string()),
            "record_id": table.column(record_id).cast(pa.string()),
            "person_id": people.person_id.take(table.column("_person")),
            "dt": pa.array([day] * table.num_rows, pa.date32()),
        },
        schema=RECORDS_SCHEMA,
    )


def _write_persons(out: Path, people: Population) -> None:
    pq.write_table(
        pa.table(
            {
                "person_id": people.person_id,
                "household_id": pa.array(people.household),
                "city_index": pa.array(people.city),
                "home_lat": pa.array(people.home_lat),
                "home_lon": pa.array(people.home_lon),
                "work_lat": pa.array(people.work_lat),
                "work_lon": pa.array(people.work_lon),
                "has_location_sdk": pa.array(people.has_sdk),
            }
        ),
        out / TRUTH_DIR / "persons.parquet",
    )


def _append_defects(out: Path, defects: list[dict], index: int) -> None:
    part = out / TRUTH_DIR / f".defects_{index:05d}.parquet"
    pq.write_table(pa.Table.from_pylist(defects, schema=DEFECTS_SCHEMA), part)


def _finish_defects(out: Path) -> None:
    parts = sorted((out / TRUTH_DIR).glob(".defects_*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in parts]) if parts else DEFECTS_SCHEMA.empty_table()
    pq.write_table(table, out / TRUTH_DIR / "defects.parquet")
    for p in parts:
        p.unlink()


DEFECTS_SCHEMA = pa.schema(
    [
        ("feed", pa.string()),
        ("file", pa.string()),
        ("record", pa.string()),
        ("kind", pa.string()),
        ("column", pa.string()),
    ]
)


def _write_identifiers(out: Path, people: Population, simulation: Simulation) -> None:
    """Who owns each identifier: a person, a household (shared tablet), a store, or nobody."""
    n, brands = people.n, simulation.world.n_brands
    rows: list[
        tuple[str, np.ndarray, np.ndarray, np.ndarray, str]
    ] = []  # type, namespace, value, person, owner

    def add(kind, values, person, namespace=None, owner="person"):
        values = np.asarray(values, dtype=object)
        rows.append(
            (
                kind,
                np.full(len(values), namespace, dtype=object)
                if not isinstance(namespace, np.ndarray)
                else namespace,
                values,
                np.asarray(person),
                owner,
            )
        )

    everyone = np.arange(n)
    add("phone", people.phone.to_numpy(zero_copy_only=False), everyone)
    changers = np.flatnonzero(people.phone_change_day >= 0)
    add("phone", people.new_phone.take(pa.array(changers)).to_numpy(zero_copy_only=False), changers)
    if simulation.mistyped_phones:
        typed, who = zip(*simulation.mistyped_phones, strict=True)
        add("phone", list(typed), list(who))
    add("phone", list(PLACEHOLDER_PHONES), [-1] * len(PLACEHOLDER_PHONES), owner="placeholder")
    person, brand = np.nonzero(simulation.ever_member)
    add(
        "member_id",
        people.member_id.take(pa.array(person * brands + brand)).to_numpy(zero_copy_only=False),
        person,
    )
    owner, platform = np.nonzero(people.has_account)
    add(
        "account_id",
        people.account(owner, platform).to_numpy(zero_copy_only=False),
        owner,
        namespace=np.array(PLATFORMS, dtype=object)[platform],
    )

    devices = people.devices
    ids = devices.device_id.to_numpy(zero_copy_only=False)
    own = np.flatnonzero(devices.person >= 0)
    add("device_id", ids[own], devices.person[own])
    shared = np.flatnonzero(devices.household >= 0)
    members = np.isin(people.household, devices.household[shared])
    member_idx = np.flatnonzero(members)
    tablet_of = people.family_device[member_idx]
    add("device_id", ids[tablet_of], member_idx, owner="family")
    tablets = np.flatnonzero(devices.store >= 0)
    add("device_id", ids[tablets], np.full(len(tablets), -1), owner="store")
    add("device_id", [ZERO_IDFA], [-1], owner="placeholder")
    add("cookie_id", people.cookie_id.to_numpy(zero_copy_only=False), np.repeat(everyone, 2))
    add("payment_token", people.payment_token.to_numpy(zero_copy_only=False), np.repeat(everyone, 2))

    person_ids = people.person_id.to_numpy(zero_copy_only=False)
    table = pa.table(
        {
            "identifier_type": pa.array(
                np.concatenate([np.full(len(r[2]), r[0], dtype=object) for r in rows])
            ),
            "namespace": pa.array(np.concatenate([r[1] for r in rows]), pa.string()),
            "value": pa.array(np.concatenate([r[2] for r in rows]), pa.string()),
            "person_id": pa.array(
                np.concatenate([np.where(r[3] >= 0, person_ids[np.maximum(r[3], 0)], None) for r in rows]),
                pa.string(),
            ),
            "owner_kind": pa.array(np.concatenate([np.full(len(r[2]), r[4], dtype=object) for r in rows])),
        }
    )
    pq.write_table(table, out / TRUTH_DIR / "identifiers.parquet")
