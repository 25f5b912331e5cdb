"""The people behind the feeds: where they live and work, which identifiers they own, and who they
share a household (and a tablet) with. Identifier strings are built once, as Arrow arrays, so a
day's records pick them with vectorised `take`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from databank.generator.rates import Rates
from databank.generator.world import BRANDS, World

PLATFORMS = ("tmall", "jd", "douyin", "wechat", "website")
PLATFORM_SHARE = np.array([0.6, 0.45, 0.55, 0.7, 0.2])
APP_PLATFORMS = np.array([True, True, True, True, False])

MOBILE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        134,
        135,
        136,
        137,
        139,
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        166,
        176,
        177,
        178,
        180,
        181,
        182,
        183,
        185,
        186,
        187,
        188,
        189,
        191,
        198,
        199,
    ]
)
PLACEHOLDER_PHONES = ("13800000000", "13800138000", "18888888888")
ZERO_IDFA = "00000000-0000-0000-0000-000000000000"
KM_PER_DEGREE = 111.0


@dataclass
class Devices:
    """Every device: its advertising id and kind, and who uses it."""

    device_id: pa.Array
    is_idfa: np.ndarray
    person: np.ndarray  # owner, or -1 for a household or store device
    household: np.ndarray  # household sharing it, or -1
    store: np.ndarray  # store whose tablet it is, or -1


@dataclass
class Population:
    n: int
    person_id: pa.Array
    city: np.ndarray
    household: np.ndarray
    home_lat: np.ndarray
    home_lon: np.ndarray
    work_lat: np.ndarray
    work_lon: np.ndarray
    affinity: np.ndarray  # (n, brands): how much a person cares for each brand
    media_propensity: np.ndarray
    activity: np.ndarray
    phone: pa.Array
    new_phone: pa.Array
    phone_change_day: np.ndarray  # day index from which `new_phone` is used, or -1
    household_partner: np.ndarray  # another person of the household, or -1
    has_account: np.ndarray  # (n, platforms)
    account_id: pa.Array  # flattened (n * platforms), null where no account
    device_start: np.ndarray
    device_count: np.ndarray
    family_device: np.ndarray  # index into devices, or -1
    devices: Devices
    store_tablet: np.ndarray  # per store: index into devices, or -1
    cookie_id: pa.Array  # flattened (n * 2)
    payment_token: pa.Array  # flattened (n * 2)
    has_sdk: np.ndarray
    wifi_seen: np.ndarray
    member_id: pa.Array  # flattened (n * brands): the number a person gets on joining a brand
    initial_member: np.ndarray  # (n, brands)
    home_store: np.ndarray  # (n, brands): index into stores of the nearest regular store
    home_store_km: np.ndarray

    def account(self, person: np.ndarray, platform: np.ndarray) -> pa.Array:
        """Account ids of (person, platform) pairs; null where the person has none there."""
        return self.account_id.take(pa.array(person * len(PLATFORMS) + platform))

    def current_phone(self, person: np.ndarray, day: int) -> pa.Array:
        changed = (self.phone_change_day[person] >= 0) & (self.phone_change_day[person] <= day)
        return pa.array(
            np.where(
                changed,
                self.new_phone.take(pa.array(person)).to_numpy(zero_copy_only=False),
                self.phone.take(pa.array(person)).to_numpy(zero_copy_only=False),
            )
        )


def build_population(rng: np.random.Generator, n: int, world: World, rates: Rates) -> Population:
    """`n` people of the brand group's cities, with their identifiers and households."""
    brands = len(BRANDS)
    household = _households(rng, n)
    # Members of one household share a city and a home.
    head = np.searchsorted(household, household)
    city = rng.choice(len(world.city_share), size=n, p=world.city_share)[head]
    home_lat = (world.city_lat[city] + rng.normal(0, 0.07, n))[head]
    home_lon = (world.city_lon[city] + rng.normal(0, 0.08, n))[head]
    work_lat = world.city_lat[city] + rng.normal(0, 0.04, n)
    work_lon = world.city_lon[city] + rng.normal(0, 0.05, n)

    phones = _unique_phones(rng, 2 * n)
    phone_change_day = np.where(
        rng.random(n) < rates.phone_change_share, rng.integers(1, max(2, world.days), n), -1
    )

    has_account = rng.random((n, len(PLATFORMS))) < PLATFORM_SHARE
    has_account[~has_account.any(axis=1), 3] = True  # everyone has at least a WeChat account

    devices, device_start, device_count, family_device, store_tablet = _devices(rng, household, world)
    store_of_brand = world.store_array("brand_id")
    home_store, home_store_km = _home_stores(world, store_of_brand, city, home_lat, home_lon)

    return Population(
        n=n,
        person_id=pa.array([f"P{i:07d}" for i in range(n)]),
        city=city,
        household=household,
        home_lat=home_lat,
        home_lon=home_lon,
        work_lat=work_lat,
        work_lon=work_lon,
        affinity=rng.gamma(0.6, 1 / 0.6, (n, brands)),
        media_propensity=rng.lognormal(-0.5, 1.0, n),
        activity=rng.lognormal(-0.3, 0.8, n),
        phone=pa.array(phones[:n]),
        new_phone=pa.array(phones[n:]),
        phone_change_day=phone_change_day,
        household_partner=_partners(household),
        has_account=has_account,
        account_id=_accounts(rng, has_account),
        device_start=device_start,
        device_count=device_count,
        family_device=family_device,
        devices=devices,
        store_tablet=store_tablet,
        cookie_id=pa.array(_hex(rng, 2 * n, 8)),
        payment_token=pa.array(["tok_" + h for h in _hex(rng, 2 * n, 12)]),
        has_sdk=rng.random(n) < rates.sdk_share,
        wifi_seen=rng.random(n) < rates.wifi_seen_share,
        member_id=pa.array(_member_ids(rng, n)),
        initial_member=rng.random((n, brands))
        < rates.initial_member_share * np.minimum(rng.gamma(2.0, 0.5, (n, brands)), 4),
        home_store=home_store,
        home_store_km=home_store_km,
    )


def _households(rng: np.random.Generator, n: int) -> np.ndarray:
    sizes = rng.choice([1, 2, 3, 4], size=n, p=[0.35, 0.35, 0.2, 0.1])
    return np.repeat(np.arange(n), sizes)[:n]


def _partners(household: np.ndarray) -> np.ndarray:
    """For each person, the next member of the household (cyclically), or -1 for people alone."""
    n = len(household)
    first = np.searchsorted(household, household, side="left")
    last = np.searchsorted(household, household, side="right") - 1
    partner = np.arange(n) + 1
    partner = np.where(partner > last, first, partner)
    return np.where(first == last, -1, partner)


def _unique_phones(rng: np.random.Generator, n: int) -> list[str]:
    prefixes = rng.choice(MOBILE_PREFIXES, size=n)
    suffixes = rng.choice(10**8, size=n, replace=False)
    numbers = prefixes.astype(np.int64) * 10**8 + suffixes
    placeholders = np.isin(numbers, np.array(PLACEHOLDER_PHONES, dtype=np.int64))
    numbers[placeholders] += 1
    return numbers.astype(str).tolist()


def _hex(rng: np.random.Generator, n: int, n_bytes: int) -> list[str]:
    raw = rng.integers(0, 256, size=(n, n_bytes), dtype=np.uint8)
    return [row.tobytes().hex() for row in raw]


def _uuids(rng: np.random.Generator, n: int) -> list[str]:
    return [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in _hex(rng, n, 16)]


def _accounts(rng: np.random.Generator, has_account: np.ndarray) -> pa.Array:
    n = has_account.shape[0]
    digits = rng.integers(10**9, 10**10, size=(n, 3))
    alnum = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"))
    openids = ["o" + "".join(row) for row in alnum[rng.integers(0, len(alnum), size=(n, 27))]]
    hexes = _hex(rng, n, 4)
    values = []
    for i in range(n):
        values.extend(
            [
                f"tb{digits[i, 0]}",
                f"jd_{hexes[i]}",
                f"dy{digits[i, 1]}{i % 100:02d}",
                openids[i],
                f"u{digits[i, 2]}",
            ]
        )
    return pa.array(np.where(has_account.ravel(), np.array(values, dtype=object), None))


def _devices(rng: np.random.Generator, household: np.ndarray, world: World):
    """Own phones (1-3 each), a tablet for some households, a tablet in every flagship store."""
    n = len(household)
    device_count = rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1])
    device_start = np.concatenate([[0], np.cumsum(device_count)[:-1]])
    own = int(device_count.sum())
    owner = np.repeat(np.arange(n), device_count)

    sizes = np.bincount(household)
    shared = np.flatnonzero((sizes >= 2) & (rng.random(len(sizes)) < 0.15))
    flagships = np.flatnonzero(world.store_array("store_type") == "flagship")
    total = own + len(shared) + len(flagships)

    family_device = np.full(n, -1)
    in_shared = np.isin(household, shared)
    family_device[in_shared] = own + np.searchsorted(shared, household[in_shared])
    store_tablet = np.full(world.stores.num_rows, -1)
    store_tablet[flagships] = own + len(shared) + np.arange(len(flagships))

    is_idfa = rng.random(total) < 0.3
    ids = np.array(_uuids(rng, total), dtype=object)
    ids[is_idfa] = np.char.upper(ids[is_idfa].astype(str)).astype(object)
    devices = Devices(
        device_id=pa.array(ids.tolist()),
        is_idfa=is_idfa,
        person=np.concatenate([owner, np.full(total - own, -1)]),
        household=np.concatenate([np.full(own, -1), shared, np.full(len(flagships), -1)]),
        store=np.concatenate([np.full(own + len(shared), -1), flagships]),
    )
    return devices, device_start, device_count, family_device, store_tablet


def _member_ids(rng: np.random.Generator, n: int) -> list[str]:
    """Card numbers per (person, brand), unique within a brand."""
    values = np.empty((n, len(BRANDS)), dtype=object)
    for b, brand in enumerate(BRANDS):
        numbers = rng.choice(10**8, size=n, replace=False)
        values[:, b] = [f"{brand.member_prefix}{x:08d}" for x in numbers]
    return values.ravel().tolist()


def _home_stores(world: World, store_brand: np.ndarray, city: np.ndarray, lat: np.ndarray, lon: np.ndarray):
    """Nearest regular (non pop-up) store of each brand and its distance in km."""
    n, brands = len(city), len(BRANDS)
    home_store = np.full((n, brands), -1)
    home_km = np.full((n, brands), np.inf)
    s_lat, s_lon = world.store_array("lat"), world.store_array("lon")
    regular = world.store_array("store_type") != "popup"
    for b, brand in enumerate(BRANDS):
        candidates = np.flatnonzero((store_brand == brand.brand_id) & regular)
        km = distance_km(lat[:, None], lon[:, None], s_lat[candidates][None, :], s_lon[candidates][None, :])
        nearest = km.argmin(axis=1)
        home_store[:, b] = candidates[nearest]
        home_km[:, b] = km[np.arange(n), nearest]
    return home_store, home_km


def distance_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Equirectangular distance, accurate to well under 1% at city scale."""
    x = (lon2 - lon1) * np.cos(np.radians((lat1 + lat2) / 2))
    return KM_PER_DEGREE * np.hypot(lat2 - lat1, x)
