"""Day-by-day simulation of consumer journeys across media, online platforms, stores and location.

Each day is computed for the whole population at once with numpy: exposures raise the chance of
clicks, sessions and store visits; sessions with a cart raise the chance of an order; buyers come
back. Memory is bounded by one day's records plus the (people x brands) journey state.

Every table a day yields has the feed's contract columns (event times as local wall-clock
milliseconds in the column the contract names), plus `_file` (the file it is delivered in) and
`_person` (who produced it, for the ground truth).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from databank.generator.population import (
    APP_PLATFORMS,
    PLACEHOLDER_PHONES,
    PLATFORM_SHARE,
    PLATFORMS,
    ZERO_IDFA,
    Population,
)
from databank.generator.rates import Rates
from databank.generator.world import BRANDS, World

DAY_MS = 86_400_000
NEVER = -10_000
RECENT_DAYS = 7

# Relative activity per local hour: online and media peak in the evening.
ONLINE_HOURS = np.array(
    [
        1.0,
        0.6,
        0.4,
        0.3,
        0.3,
        0.4,
        0.8,
        1.5,
        2.0,
        2.2,
        2.4,
        2.6,
        3.0,
        2.8,
        2.6,
        2.6,
        2.8,
        3.0,
        3.4,
        4.0,
        4.6,
        5.0,
        4.2,
        2.4,
    ]
)
ONLINE_HOURS = ONLINE_HOURS / ONLINE_HOURS.sum()
PAYMENT_METHODS = np.array(["alipay", "wechat_pay", "bank_card", "cash"])
PAYMENT_SHARE = [0.40, 0.35, 0.15, 0.10]
VIDEO_MEDIA = ("douyin", "tencent_ads")


def utc_offset_ms(day: date, tz: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=tz).utcoffset().total_seconds() * 1000)


def record_ids(prefix: str, count: int, width: int) -> pa.Array:
    """`prefix` followed by 0..count-1, zero-padded to `width` digits."""
    numbers = pc.utf8_lpad(pc.cast(pa.array(np.arange(count)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, numbers, "")


def join_ids(*parts: pa.Array | str, sep: str = "-") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


class Simulation:
    """The journey state of every (person, brand) and the records it produces day by day."""

    def __init__(
        self, world: World, people: Population, rates: Rates, tz: ZoneInfo, rng_for: callable
    ) -> None:
        self.world, self.people, self.rates, self.tz = world, people, rates, tz
        self.rng_for = rng_for
        n, b = people.n, world.n_brands
        self.last_exposed = np.full((n, b), NEVER)
        self.last_clicked = np.full((n, b), NEVER)
        self.interest = np.zeros((n, b))
        self.purchases = np.zeros((n, b), dtype=np.int32)
        self.member = people.initial_member.copy()
        self.ever_member = people.initial_member.copy()
        self.coupon_held = np.zeros((n, b), dtype=bool)
        self.mistyped_phones: list[tuple[str, int]] = []
        self.pending: dict[int, dict[str, list[pa.Table]]] = defaultdict(lambda: defaultdict(list))
        self.product_brand = np.searchsorted(
            world.brands.column("brand_id").to_numpy(zero_copy_only=False), world.product_array("brand_id")
        )
        self.store_brand = np.searchsorted(
            world.brands.column("brand_id").to_numpy(zero_copy_only=False), world.store_array("brand_id")
        )
        self.campaign_brand = np.searchsorted(
            world.brands.column("brand_id").to_numpy(zero_copy_only=False), world.campaign_array("brand_id")
        )
        rng = rng_for("consent")
        self.consent_marketing = rng.random((n, b)) < 0.6
        self.consent_ads = rng.random((n, b)) < 0.5

    # ------------------------------------------------------------------ one day

    def day(self, index: int) -> dict[str, pa.Table]:
        """All records of local day `index` (0 = the first day), by feed."""
        self.index = index
        self.date = self.world.start + timedelta(days=index)
        self.stamp = self.date.strftime("%Y%m%d")
        self.midnight = (self.date - date(1970, 1, 1)).days * DAY_MS
        # Interest is a 0..1 score; capping it keeps the feedback between sessions and interest stable.
        self.interest = np.minimum(self.interest * self.rates.interest_decay_per_day, 1.0)
        exposures = self._exposures(self.rng_for("exposures", index))
        events, orders = self._sessions(self.rng_for("sessions", index))
        screens, receipts, visit_pings, wifi_pings, joins = self._visits(self.rng_for("visits", index))
        background = self._background_pings(self.rng_for("pings", index))
        due = self.pending.pop(index, {})
        tables = {
            "media_exposures": _concat([exposures, screens]),
            "online_events": _concat([events, *due.get("online_events", [])]),
            "online_orders": _concat([orders, *due.get("online_orders", [])]),
            "pos_transactions": _concat([receipts, *due.get("pos_transactions", [])]),
            "lbs_pings": _concat([background, visit_pings, wifi_pings]),
            "members": self._members(self.rng_for("members", index), joins),
            "erasure_requests": self._erasures(self.rng_for("erasure", index)),
        }
        return {feed: self._number(feed, table) for feed, table in tables.items() if table is not None}

    # ------------------------------------------------------------------ media

    def _exposures(self, rng: np.random.Generator) -> pa.Table | None:
        w, p, r = self.world, self.people, self.rates
        media = w.campaign_array("media")
        active = np.flatnonzero(self._on_air() & (media != "instore_screen"))
        if not len(active):
            return None
        weight = w.campaign_array("daily_weight")[active]
        lam = r.impressions_per_day * p.media_propensity / p.media_propensity.mean()
        person = np.repeat(np.arange(p.n), rng.poisson(lam))
        campaign = active[rng.choice(len(active), size=len(person), p=weight / weight.sum())]
        brand = self.campaign_brand[campaign]
        secs = self._local_seconds(rng, len(person))

        interest = self.interest[person, brand]
        ctr = r.click_through_rate * (0.5 + p.affinity[person, brand] / 2) * (1 + interest)
        clicked = rng.random(len(person)) < ctr
        video = np.isin(media[campaign], VIDEO_MEDIA) & (rng.random(len(person)) < r.video_complete_rate)
        live = (media[campaign] == "douyin") & (rng.random(len(person)) < r.live_view_rate)
        kinds = [
            ("impression", np.ones(len(person), bool), 0),
            ("click", clicked, 4),
            ("video_complete", video, 15),
            ("live_view", live, 30),
        ]
        rows = np.concatenate([np.flatnonzero(mask) for _, mask, _ in kinds])
        event_type = np.concatenate([np.full(mask.sum(), name) for name, mask, _ in kinds])
        delay = np.concatenate([np.full(mask.sum(), d) for _, mask, d in kinds])
        person, campaign, brand = person[rows], campaign[rows], brand[rows]
        secs = np.minimum(secs[rows] + delay, 86_399)

        self.last_exposed[person, brand] = self.index
        clicks = event_type == "click"
        self.last_clicked[person[clicks], brand[clicks]] = self.index
        np.add.at(self.interest, (person[clicks], brand[clicks]), 0.3)

        on_web = media[campaign] == "baidu"
        device = self._own_device(rng, person)
        device_id, device_type = self._device_columns(rng, device, limited=True)
        cookie = p.cookie_id.take(pa.array(person * 2 + rng.integers(0, 2, len(person))))
        platform = np.select([media[campaign] == "douyin", media[campaign] == "tencent_ads"], [2, 3], -1)
        shares_account = (platform >= 0) & (rng.random(len(person)) < np.where(platform == 2, 0.7, 0.3))
        account = p.account(person, np.maximum(platform, 0))
        shares_account &= pc.is_valid(account).to_numpy(zero_copy_only=False)
        return pa.table(
            {
                "campaign_id": w.campaigns.column("campaign_id").take(pa.array(campaign)),
                "media": pa.array(media[campaign]),
                "event_type": pa.array(event_type),
                "event_at": self._times(secs),
                "store_id": pa.nulls(len(person), pa.string()),
                "device_id": _where(~on_web, device_id),
                "device_id_type": _where(~on_web, device_type),
                "cookie_id": _where(on_web, cookie),
                "account_id": _where(shares_account, account),
                "account_platform": _where(
                    shares_account, pa.array(np.array(PLATFORMS)[np.maximum(platform, 0)])
                ),
                "_file": pa.array(
                    np.char.add(
                        np.char.add("exposures_", media[campaign].astype(str)), f"_{self.stamp}.parquet"
                    )
                ),
                "_person": pa.array(person),
            }
        )

    # ------------------------------------------------------------------ online

    def _sessions(self, rng: np.random.Generator) -> tuple[pa.Table | None, pa.Table | None]:
        p, r = self.people, self.rates
        recent_exposure = (self.index - self.last_exposed) <= RECENT_DAYS
        recent_click = (self.index - self.last_clicked) <= RECENT_DAYS
        lam = (
            r.sessions_per_day
            * p.activity[:, None]
            * p.affinity
            * (
                1
                + r.exposure_boost * recent_exposure
                + r.click_boost * recent_click
                + r.interest_boost * self.interest
                + r.buyer_boost * (self.purchases > 0)
            )
        )
        counts = rng.poisson(lam)
        person, brand = np.nonzero(counts)
        person, brand = np.repeat(person, counts[person, brand]), np.repeat(brand, counts[person, brand])
        if not len(person):
            return None, None
        s = len(person)

        weights = p.has_account[person] * PLATFORM_SHARE
        weights[:, 4] = 0.15
        platform = (rng.random((s, 1)) * weights.sum(1, keepdims=True) > np.cumsum(weights, 1)).sum(1)
        is_app = APP_PLATFORMS[platform]
        has_account = p.has_account[person, platform]
        logged_in = has_account & (rng.random(s) < np.where(is_app, 0.9, r.web_login_rate))
        family = (p.family_device[person] >= 0) & (rng.random(s) < r.family_device_use_rate)
        device = np.where(family, p.family_device[person], self._own_device(rng, person))
        cookie_index = person * 2 + rng.integers(0, 2, s)
        start = self._local_seconds(rng, s)
        focus_sku = self._brand_products(rng, brand)
        interest = self.interest[person, brand]

        n_views = 1 + rng.poisson(r.page_views_per_session - 1, s)
        steps = {
            "login": logged_in & ~is_app,
            "search": rng.random(s) < r.search_share,
            "page_view": n_views,
            "favorite": rng.random(s) < r.favorite_rate * (1 + interest),
            "add_to_cart": rng.random(s) < r.add_to_cart_rate * (1 + interest),
            "follow_store": rng.random(s) < r.follow_store_rate,
            "coupon_claim": rng.random(s) < r.coupon_claim_rate,
            "live_view": np.isin(platform, [0, 2]) & (rng.random(s) < r.live_view_session_rate),
            "sample_received": (platform == 3) & (rng.random(s) < r.sample_rate),
        }
        session_of, event_type, step_no = [], [], []
        for order, (name, count) in enumerate(steps.items()):
            count = np.asarray(count, dtype=np.int64)
            session_of.append(np.repeat(np.arange(s), count))
            event_type.append(np.full(count.sum(), name))
            step_no.append(np.full(count.sum(), order) + _within_group_rank(np.repeat(np.arange(s), count)))
        session_of = np.concatenate(session_of)
        event_type = np.concatenate(event_type)
        step_no = np.concatenate(step_no)

        ev_person, ev_brand = person[session_of], brand[session_of]
        sku = np.where(
            event_type == "page_view",
            np.where(
                rng.random(len(session_of)) < 0.6, focus_sku[session_of], self._brand_products(rng, ev_brand)
            ),
            focus_sku[session_of],
        )
        has_sku = np.isin(event_type, ["page_view", "favorite", "add_to_cart", "sample_received"])
        brand_keyword = rng.random(len(session_of)) < 0.3 + 0.4 * np.minimum(
            self.interest[ev_person, ev_brand], 1
        )
        keyword = self._keywords(rng, ev_brand, brand_keyword)
        coupon = pa.array(
            np.char.add(np.array([b.brand_id for b in BRANDS])[ev_brand].astype(str), f"-{self.date:%Y%m}-CP")
        )
        brand_event = np.isin(event_type, ["follow_store", "coupon_claim", "live_view", "sample_received"])
        secs = np.minimum(start[session_of] + 20 * step_no, 86_399)
        session_ids = join_ids(pa.array(np.array(PLATFORMS)[platform]), record_ids(f"S{self.stamp}", s, 8))

        self.interest[person, brand] += 0.15
        engaged = steps["favorite"] | steps["add_to_cart"]
        np.add.at(self.interest, (person[engaged], brand[engaged]), 0.4)
        claimed = steps["coupon_claim"]
        self.coupon_held[person[claimed], brand[claimed]] = True

        ev_app = is_app[session_of]
        events = pa.table(
            {
                "session_id": session_ids.take(pa.array(session_of)),
                "platform": pa.array(np.array(PLATFORMS)[platform[session_of]]),
                "event_type": pa.array(event_type),
                "event_at": self._times(secs),
                "brand_id": _where(
                    brand_event, self.world.brands.column("brand_id").take(pa.array(ev_brand))
                ),
                "sku": _where(has_sku, self.world.products.column("sku").take(pa.array(sku))),
                "search_keyword": _where(event_type == "search", keyword),
                "coupon_id": _where(event_type == "coupon_claim", coupon),
                "rating": pa.nulls(len(session_of), pa.int64()),
                "account_id": _where(logged_in[session_of], p.account(ev_person, platform[session_of])),
                "device_id": _where(ev_app, p.devices.device_id.take(pa.array(device[session_of]))),
                "cookie_id": _where(~ev_app, p.cookie_id.take(pa.array(cookie_index[session_of]))),
                "_file": pa.array(
                    np.char.add(
                        np.char.add("events_", np.array(PLATFORMS)[platform[session_of]]),
                        f"_{self.stamp}.jsonl",
                    )
                ),
                "_person": pa.array(ev_person),
            }
        )

        buy = has_account & (
            rng.random(s)
            < (
                r.order_after_cart * steps["add_to_cart"]
                + r.order_after_browse
                + r.order_interest_lift * np.minimum(interest, 1)
            )
        )
        orders = self._orders(
            rng, np.flatnonzero(buy), person, brand, platform, device, focus_sku, secs_of=start
        )
        return events, orders

    def _orders(self, rng, sessions, person, brand, platform, device, focus_sku, secs_of) -> pa.Table | None:
        if not len(sessions):
            return None
        p, r, w = self.people, self.rates, self.world
        o_person, o_brand, o_platform = person[sessions], brand[sessions], platform[sessions]
        n_orders = len(sessions)
        n_lines = (
            1 + (rng.random(n_orders) < r.extra_line_rate) + (rng.random(n_orders) < r.extra_line_rate**2)
        )
        order = np.repeat(np.arange(n_orders), n_lines)
        line_no = 1 + _within_group_rank(order)
        lp, lb = o_person[order], o_brand[order]
        sku = np.where(line_no == 1, focus_sku[sessions][order], self._brand_products(rng, lb))
        quantity = 1 + (rng.random(len(order)) < 0.15)
        price = w.product_array("list_price")[sku]
        amount = np.round(quantity * price * rng.uniform(0.8, 1.0, len(order)), 2)
        redeem = (line_no == 1) & self.coupon_held[lp, lb] & (rng.random(len(order)) < r.coupon_redeem_rate)
        amount = np.where(redeem, np.maximum(amount - 20, 0), amount)
        self.coupon_held[lp[redeem], lb[redeem]] = False

        in_store = rng.random(n_orders) < r.store_tablet_rate
        flagship = self._flagship_of(o_brand)
        tablet = p.store_tablet[flagship]
        in_store &= tablet >= 0
        o_device = np.where(in_store, tablet, device[sessions])
        app_or_store = APP_PLATFORMS[o_platform] | in_store
        secs = np.minimum(secs_of[sessions] + rng.integers(120, 900, n_orders), 86_399)

        order_ids = record_ids(f"O{self.stamp}", n_orders, 7)
        line_ids = join_ids(order_ids.take(pa.array(order)), pc.cast(pa.array(line_no), pa.string()))
        phone = self._typed_phones(rng, o_person)
        bound = (
            self.member[o_person, o_brand]
            & np.isin(o_platform, [0, 1, 3])
            & (rng.random(n_orders) < r.member_binding_share)
        )
        orders = pa.table(
            {
                "order_line_id": line_ids,
                "order_id": order_ids.take(pa.array(order)),
                "line_no": pa.array(line_no),
                "platform": pa.array(np.array(PLATFORMS)[o_platform[order]]),
                "order_type": pa.array(np.full(len(order), "sale")),
                "refund_of_line_id": pa.nulls(len(order), pa.string()),
                "transacted_at": self._times(secs[order]),
                "sku": w.products.column("sku").take(pa.array(sku)),
                "quantity": pa.array(quantity.astype(np.int64)),
                "unit_price": pa.array(price),
                "line_amount": pa.array(amount),
                "coupon_id": _where(
                    redeem,
                    pa.array(
                        np.char.add(np.array([b.brand_id for b in BRANDS])[lb], f"-{self.date:%Y%m}-CP")
                    ),
                ),
                "store_id": _where(
                    in_store[order], w.stores.column("store_id").take(pa.array(flagship[order]))
                ),
                "account_id": p.account(lp, o_platform[order]),
                "receiver_phone": phone.take(pa.array(order)),
                "member_id": _where(bound[order], p.member_id.take(pa.array(lp * w.n_brands + lb))),
                "device_id": _where(app_or_store[order], p.devices.device_id.take(pa.array(o_device[order]))),
                "_file": pa.array(
                    np.char.add(
                        np.char.add("orders_", np.array(PLATFORMS)[o_platform[order]]), f"_{self.stamp}.jsonl"
                    )
                ),
                "_person": pa.array(lp),
            }
        )
        self.purchases[o_person, o_brand] += 1
        self.interest[o_person, o_brand] = np.maximum(self.interest[o_person, o_brand] - 0.5, 0)
        self._schedule_refunds(rng, orders)
        self._schedule_reviews(rng, orders, line_no == 1, o_device[order], app_or_store[order])
        return orders

    def _schedule_refunds(self, rng, orders: pa.Table) -> None:
        r = self.rates
        self._schedule_undo(
            rng,
            orders,
            "online_orders",
            r.refund_rate,
            r.refund_max_days,
            ("refund_of_line_id", "order_line_id"),
            ("order_type", "refund"),
        )

    def _schedule_reviews(self, rng, orders: pa.Table, first_line, device, has_device) -> None:
        p = self.people
        reviewed = first_line & (rng.random(orders.num_rows) < self.rates.review_rate)
        if not reviewed.any():
            return
        k = int(reviewed.sum())
        positive = rng.random(k) < self.rates.positive_review_share
        rating = np.where(positive, rng.integers(4, 6, k), rng.integers(1, 4, k))
        src = orders.filter(pa.array(reviewed))
        platform = src.column("platform")
        is_app = pc.not_equal(platform, "website").to_numpy(zero_copy_only=False)
        person = src.column("_person").to_numpy()
        reviews = pa.table(
            {
                "session_id": join_ids(
                    platform, pc.binary_join_element_wise(src.column("order_id"), "R", "")
                ),
                "platform": platform,
                "event_type": pa.array(np.full(k, "review")),
                "event_at": pa.nulls(k, pa.int64()),
                "brand_id": pa.nulls(k, pa.string()),
                "sku": src.column("sku"),
                "search_keyword": pa.nulls(k, pa.string()),
                "coupon_id": pa.nulls(k, pa.string()),
                "rating": pa.array(rating.astype(np.int64)),
                "account_id": src.column("account_id"),
                "device_id": _where(
                    is_app & has_device[reviewed], p.devices.device_id.take(pa.array(device[reviewed]))
                ),
                "cookie_id": _where(~is_app, p.cookie_id.take(pa.array(person * 2))),
                "_file": pc.replace_substring(
                    pc.replace_substring(src.column("_file"), "orders_", "events_"), self.stamp, "{stamp}"
                ),
                "_person": src.column("_person"),
            }
        )
        self._defer("online_events", reviews, rng.integers(2, 11, k))

    def _defer(self, feed: str, table: pa.Table, lag: np.ndarray) -> None:
        """Hold rows back to be delivered `lag` days later, at a random time of that day."""
        for days in np.unique(lag):
            due = self.index + int(days)
            if due < self.world.days:
                self.pending[due][feed].append(table.filter(pa.array(lag == days)))

    # ------------------------------------------------------------------ stores

    def _visits(self, rng: np.random.Generator):
        p, r, w = self.people, self.rates, self.world
        recent_exposure = (self.index - self.last_exposed) <= RECENT_DAYS
        store = p.home_store.copy()
        km = p.home_store_km
        lam = (
            r.visits_per_day
            * p.affinity
            * np.exp(-km / r.visit_distance_km)
            * (1 + 4 * self.interest + 3 * recent_exposure + 2 * (self.purchases > 0))
        )
        person, brand = np.nonzero(rng.random(lam.shape) < lam)
        store = store[person, brand]
        popup = self._open_popups()
        to_popup = np.isin(brand, list(popup)) & (rng.random(len(person)) < 0.3)
        for b, s in popup.items():
            same_city = w.store_array("city")[s] == w.store_array("city")[store]
            store = np.where(to_popup & (brand == b) & same_city, s, store)
        is_open = self._store_open()[store]
        person, brand, store = person[is_open], brand[is_open], store[is_open]
        v = len(person)
        arrival = rng.integers(10 * 3600, 21 * 3600, v)
        short = rng.random(v) < r.short_visit_share
        dwell_min = np.where(
            short, rng.uniform(1, 4.5, v), np.clip(rng.lognormal(np.log(18), 0.6, v), 5.5, 120)
        )
        dwelt = ~short
        s_lat, s_lon = w.store_array("lat")[store], w.store_array("lon")[store]
        device = p.device_start[person]

        sdk_pings = self._dwell_pings(
            rng,
            person[p.has_sdk[person]],
            device[p.has_sdk[person]],
            arrival[p.has_sdk[person]],
            dwell_min[p.has_sdk[person]],
            s_lat[p.has_sdk[person]],
            s_lon[p.has_sdk[person]],
            every_s=180,
            accuracy=(15, 60),
            source="sdk",
            store=None,
        )
        seen = p.wifi_seen[person]
        beacon = w.store_array("store_type")[store[seen]] == "flagship"
        wifi_pings = self._dwell_pings(
            rng,
            person[seen],
            device[seen],
            arrival[seen],
            dwell_min[seen],
            s_lat[seen],
            s_lon[seen],
            every_s=120,
            accuracy=(5, 30),
            source=np.where(beacon, "beacon", "wifi"),
            store=store[seen],
        )
        screens = self._screen_interactions(rng, person, brand, store, arrival, dwelt, device)
        buy = dwelt & (
            rng.random(v) < np.minimum(r.purchase_after_visit * (1 + self.interest[person, brand]), 0.8)
        )
        receipts, joins = self._receipts(
            rng, person[buy], brand[buy], store[buy], arrival[buy] + (dwell_min[buy] * 48).astype(int)
        )
        self.interest[person[dwelt], brand[dwelt]] += 0.3
        return screens, receipts, sdk_pings, wifi_pings, joins

    def _dwell_pings(
        self, rng, person, device, arrival, dwell_min, lat, lon, every_s, accuracy, source, store
    ):
        count = np.maximum(1, (dwell_min * 60 // every_s).astype(int))
        visit = np.repeat(np.arange(len(person)), count)
        if not len(visit):
            return None
        k = _within_group_rank(visit)
        secs = np.minimum(arrival[visit] + k * every_s + rng.integers(0, 30, len(visit)), 86_399)
        acc = rng.uniform(*accuracy, len(visit))
        source = np.broadcast_to(source, len(person))[visit]
        return self._ping_table(
            rng,
            person[visit],
            device[visit],
            secs,
            lat[visit],
            lon[visit],
            acc,
            source,
            None if store is None else store[visit],
            f"pings_wifi_{self.stamp}.csv" if store is not None else None,
        )

    def _screen_interactions(self, rng, person, brand, store, arrival, dwelt, device) -> pa.Table | None:
        p, w = self.people, self.world
        screen = w.store_array("has_interactive_screen")[store]
        media = w.campaign_array("media")
        campaign_of_brand = {
            int(self.campaign_brand[c]): c
            for c in np.flatnonzero((media == "instore_screen") & self._on_air())
        }
        has_campaign = np.isin(brand, list(campaign_of_brand))
        rows = np.flatnonzero(
            dwelt & screen & has_campaign & (rng.random(len(person)) < self.rates.screen_interaction_rate)
        )
        if not len(rows):
            return None
        pr, br = person[rows], brand[rows]
        campaign = np.array([campaign_of_brand[int(b)] for b in br])
        device_id, device_type = self._device_columns(rng, device[rows], limited=False)
        account = p.account(pr, np.full(len(rows), 3))
        shares = (rng.random(len(rows)) < 0.6) & pc.is_valid(account).to_numpy(zero_copy_only=False)
        return pa.table(
            {
                "campaign_id": w.campaigns.column("campaign_id").take(pa.array(campaign)),
                "media": pa.array(np.full(len(rows), "instore_screen")),
                "event_type": pa.array(np.full(len(rows), "interactive")),
                "event_at": self._times(arrival[rows] + 300),
                "store_id": w.stores.column("store_id").take(pa.array(store[rows])),
                "device_id": device_id,
                "device_id_type": device_type,
                "cookie_id": pa.nulls(len(rows), pa.string()),
                "account_id": _where(shares, account),
                "account_platform": _where(shares, pa.array(np.full(len(rows), "wechat"))),
                "_file": pa.array(np.full(len(rows), f"exposures_instore_screen_{self.stamp}.parquet")),
                "_person": pa.array(pr),
            }
        )

    def _receipts(self, rng, person, brand, store, secs):
        p, r, w = self.people, self.rates, self.world
        n = len(person)
        if not n:
            return None, (person, brand)
        joins = ~self.member[person, brand] & (rng.random(n) < r.join_at_till)
        self.member[person[joins], brand[joins]] = True
        self.ever_member[person[joins], brand[joins]] = True
        card = self.member[person, brand] & (joins | (rng.random(n) < r.member_card_shown))
        gives_phone = ~card & (rng.random(n) < r.phone_at_till)
        method = PAYMENT_METHODS[rng.choice(len(PAYMENT_METHODS), size=n, p=PAYMENT_SHARE)]
        tokenised = np.isin(method, ["bank_card", "alipay"])

        n_lines = 1 + (rng.random(n) < r.extra_line_rate) + (rng.random(n) < r.extra_line_rate**2)
        receipt = np.repeat(np.arange(n), n_lines)
        line_no = 1 + _within_group_rank(receipt)
        sku = self._brand_products(rng, brand[receipt])
        quantity = 1 + (rng.random(len(receipt)) < 0.2)
        price = w.product_array("list_price")[sku]
        amount = np.round(quantity * price * rng.uniform(0.85, 1.0, len(receipt)), 2)
        store_ids = w.stores.column("store_id").take(pa.array(store))
        receipt_ids = join_ids(store_ids, pa.scalar(self.stamp), record_ids("", n, 5))
        r_ids = receipt_ids.take(pa.array(receipt))
        phones = self._spelled(rng, p.current_phone(person, self.index))
        cards = self._card_spelling(rng, p.member_id.take(pa.array(person * w.n_brands + brand)))
        tokens = p.payment_token.take(pa.array(person * 2 + rng.integers(0, 2, n)))
        system = w.store_array("pos_system")[store]
        brand_ids = np.array([b.brand_id for b in BRANDS])[brand]
        files = np.char.add(
            np.char.add(np.char.add(np.char.add("pos_", brand_ids), "_"), system.astype(str)),
            f"_{self.stamp}.csv",
        )
        lines = pa.table(
            {
                "receipt_line_id": join_ids(r_ids, pc.cast(pa.array(line_no), pa.string())),
                "receipt_id": r_ids,
                "store_id": store_ids.take(pa.array(receipt)),
                "line_no": pa.array(line_no),
                "line_type": pa.array(np.full(len(receipt), "sale")),
                "original_receipt_id": pa.nulls(len(receipt), pa.string()),
                "sold_at": self._times(np.minimum(secs[receipt], 86_399)),
                "sku": w.products.column("sku").take(pa.array(sku)),
                "product_name": w.products.column("product_name").take(pa.array(sku)),
                "quantity": pa.array(quantity.astype(np.int64)),
                "unit_price": pa.array(price),
                "line_amount": pa.array(amount),
                "payment_method": pa.array(method[receipt]),
                "member_card_no": _where(card[receipt], cards.take(pa.array(receipt))),
                "phone": _where(gives_phone[receipt], phones.take(pa.array(receipt))),
                "payment_token": _where(tokenised[receipt], tokens.take(pa.array(receipt))),
                "_file": pa.array(files[receipt]),
                "_person": pa.array(person[receipt]),
            }
        )
        self.purchases[person, brand] += 1
        self._schedule_returns(rng, lines)
        return lines, (person[joins], brand[joins])

    def _schedule_returns(self, rng, lines: pa.Table) -> None:
        r = self.rates
        self._schedule_undo(
            rng,
            lines,
            "pos_transactions",
            r.return_rate,
            r.return_max_days,
            ("original_receipt_id", "receipt_id"),
            ("line_type", "return"),
        )

    def _schedule_undo(
        self,
        rng,
        sold: pa.Table,
        feed: str,
        rate: float,
        max_days: int,
        link: tuple[str, str],
        kind: tuple[str, str],
    ) -> None:
        """Refunds and returns: copies of some sold lines that point back at them, due days later."""
        undone = rng.random(sold.num_rows) < rate
        if not undone.any():
            return
        lag = rng.integers(1, max_days + 1, undone.sum())
        copies = sold.filter(pa.array(undone))
        (link_column, linked_from), (kind_column, kind_value) = link, kind
        copies = copies.set_column(
            copies.schema.get_field_index(link_column), link_column, copies.column(linked_from)
        )
        copies = copies.set_column(
            copies.schema.get_field_index(kind_column),
            kind_column,
            pa.array(np.full(copies.num_rows, kind_value)),
        )
        self._defer(feed, copies, lag)

    # ------------------------------------------------------------------ location

    def _background_pings(self, rng: np.random.Generator) -> pa.Table | None:
        p = self.people
        users = np.flatnonzero(p.has_sdk)
        person = np.repeat(users, rng.poisson(self.rates.background_pings_per_day, len(users)))
        if not len(person):
            return None
        secs = rng.integers(0, 86_400, len(person))
        hour = secs // 3600
        night = (hour < 7) | (hour >= 22)
        working = (self.date.weekday() < 5) & (hour >= 9) & (hour < 18)
        roaming = ~night & ~working & (rng.random(len(person)) < 0.5)
        lat = np.where(working, p.work_lat[person], p.home_lat[person])
        lon = np.where(working, p.work_lon[person], p.home_lon[person])
        lat = np.where(roaming, lat + rng.normal(0, 0.05, len(person)), lat)
        lon = np.where(roaming, lon + rng.normal(0, 0.06, len(person)), lon)
        acc = np.clip(rng.lognormal(np.log(50), 0.6, len(person)), 5, 500)
        return self._ping_table(
            rng, person, p.device_start[person], secs, lat, lon, acc, np.full(len(person), "sdk"), None, None
        )

    def _ping_table(self, rng, person, device, secs, lat, lon, accuracy, source, store, file) -> pa.Table:
        n = len(person)
        jitter = accuracy / 111_000 / 2
        p = self.people
        return pa.table(
            {
                "device_id": pc.utf8_lower(p.devices.device_id.take(pa.array(device))),
                "device_id_type": pa.array(np.where(p.devices.is_idfa[device], "idfa", "oaid")),
                "pinged_at": self._times(secs),
                "lat": pa.array(np.round(lat + rng.normal(0, 1, n) * jitter, 6)),
                "lon": pa.array(np.round(lon + rng.normal(0, 1, n) * jitter, 6)),
                "accuracy_m": pa.array(np.round(accuracy, 1)),
                "source": pa.array(source),
                "store_id": (
                    pa.nulls(n, pa.string())
                    if store is None
                    else self.world.stores.column("store_id").take(pa.array(store))
                ),
                "_file": pa.array(np.full(n, file or f"pings_sdk_{self.stamp}.parquet")),
                "_person": pa.array(person),
            }
        )

    # ------------------------------------------------------------------ CRM

    def _members(self, rng: np.random.Generator, joins) -> pa.Table | None:
        p, w = self.people, self.world
        if self.index == 0:
            person, brand = np.nonzero(self.member)
            joined = np.array(
                [self.world.start - timedelta(days=int(d)) for d in rng.integers(30, 1500, len(person))],
                dtype="datetime64[D]",
            )
            status = np.full(len(person), "active")
        else:
            lapsing = self.member & (rng.random(self.member.shape) < self.rates.member_lapse_per_day)
            self.member &= ~lapsing
            changed = np.isin(np.arange(p.n), np.flatnonzero(p.phone_change_day == self.index))
            movers = self.ever_member & changed[:, None]
            parts = [
                (*joins, "active", True),
                (*np.nonzero(lapsing), "lapsed", False),
                (*np.nonzero(movers & ~lapsing), None, False),
            ]
            person = np.concatenate([x[0] for x in parts]).astype(int)
            brand = np.concatenate([x[1] for x in parts]).astype(int)
            if not len(person):
                return None
            status = np.where(self.member[person, brand], "active", "lapsed")
            first_joined = np.concatenate([np.full(len(x[0]), x[3]) for x in parts])
            joined = np.where(
                first_joined,
                np.datetime64(self.date, "D"),
                np.datetime64(self.world.start, "D") - rng.integers(30, 1500, len(person)),
            )
        n = len(person)
        return pa.table(
            {
                "member_id": p.member_id.take(pa.array(person * w.n_brands + brand)),
                "brand_id": w.brands.column("brand_id").take(pa.array(brand)),
                "phone": self._spelled(rng, p.current_phone(person, self.index)),
                "joined_on": pa.array(joined.astype("datetime64[D]")),
                "status": pa.array(status),
                "consent_marketing": pa.array(self.consent_marketing[person, brand]),
                "consent_ad_targeting": pa.array(self.consent_ads[person, brand]),
                "updated_at": self._times(rng.integers(8 * 3600, 23 * 3600, n)),
                "_file": pa.array(np.full(n, f"members_{self.stamp}.csv")),
                "_person": pa.array(person),
            }
        )

    def _erasures(self, rng: np.random.Generator) -> pa.Table | None:
        if self.index < 3:
            return None
        p, w = self.people, self.world
        candidates = np.flatnonzero(self.ever_member.any(axis=1))
        k = min(rng.poisson(p.n * self.rates.erasure_requests_per_day), len(candidates))
        if not k:
            return None
        person = rng.choice(candidates, size=k, replace=False)
        brand = np.array([rng.choice(np.flatnonzero(self.ever_member[i])) for i in person])
        by_phone = rng.random(k) < 0.5
        phone = p.current_phone(person, self.index)
        member = p.member_id.take(pa.array(person * w.n_brands + brand))
        return pa.table(
            {
                "requested_at": self._times(rng.integers(9 * 3600, 21 * 3600, k)),
                "identifier_type": pa.array(np.where(by_phone, "phone", "member_id")),
                "identifier_value": pa.array(
                    np.where(
                        by_phone, phone.to_numpy(zero_copy_only=False), member.to_numpy(zero_copy_only=False)
                    )
                ),
                "_file": pa.array(np.full(k, f"erasure_requests_{self.stamp}.csv")),
                "_person": pa.array(person),
            }
        )

    # ------------------------------------------------------------------ helpers

    def _number(self, feed: str, table: pa.Table) -> pa.Table:
        """Give rows that have no record id yet (new records, deferred refunds and reviews) theirs."""
        prefix = {
            "media_exposures": ("EX", 9),
            "online_events": ("EV", 8),
            "lbs_pings": ("LP", 9),
            "members": ("MR", 7),
            "erasure_requests": ("ER", 5),
        }
        if feed in prefix:
            letters, width = prefix[feed]
            ids = record_ids(f"{letters}{self.stamp}", table.num_rows, width)
            key = {
                "media_exposures": "exposure_id",
                "online_events": "event_id",
                "lbs_pings": "ping_id",
                "members": "member_record_id",
                "erasure_requests": "request_id",
            }[feed]
            table = table.add_column(0, key, ids)
        if feed == "online_orders":
            table = self._renumber_deferred(table, "order_type", "refund", "order_line_id", "order_id", "RF")
        if feed == "pos_transactions":
            table = self._renumber_deferred(
                table, "line_type", "return", "receipt_line_id", "receipt_id", "RT"
            )
        time_column = {
            "media_exposures": "event_at",
            "online_events": "event_at",
            "online_orders": "transacted_at",
            "pos_transactions": "sold_at",
            "lbs_pings": "pinged_at",
            "members": "updated_at",
            "erasure_requests": "requested_at",
        }[feed]
        return self._retime_deferred(table, time_column)

    def _renumber_deferred(self, table, kind_column, kind, line_column, parent_column, letters) -> pa.Table:
        """Refunds and returns get ids of the day they are delivered on, and times within it."""
        deferred = pc.equal(table.column(kind_column), kind).to_numpy(zero_copy_only=False)
        if not deferred.any():
            return table
        parent = record_ids(f"{letters}{self.stamp}", int(deferred.sum()), 6)
        parent_ids = table.column(parent_column).to_numpy(zero_copy_only=False).astype(object)
        line_ids = table.column(line_column).to_numpy(zero_copy_only=False).astype(object)
        parent_ids[deferred] = parent.to_numpy(zero_copy_only=False)
        line_ids[deferred] = np.char.add(parent.to_numpy(zero_copy_only=False).astype(str), "-1")
        table = table.set_column(
            table.schema.get_field_index(parent_column), parent_column, pa.array(parent_ids)
        )
        table = table.set_column(table.schema.get_field_index(line_column), line_column, pa.array(line_ids))
        if "line_no" in table.column_names:
            line_no = table.column("line_no").to_numpy().copy()
            line_no[deferred] = 1
            table = table.set_column(table.schema.get_field_index("line_no"), "line_no", pa.array(line_no))
        return table

    def _retime_deferred(self, table: pa.Table, column: str) -> pa.Table:
        """Rows held back from an earlier day carry that day's time; move them into this day."""
        times = table.column(column).to_numpy(zero_copy_only=False)
        stale = _is_null(times) | (times < self.midnight)
        if "_file" in table.column_names:
            files = pc.replace_substring(table.column("_file"), "{stamp}", self.stamp)
            files = pc.replace_substring_regex(files, r"_\d{8}\.", f"_{self.stamp}.")
            table = table.set_column(table.schema.get_field_index("_file"), "_file", files)
        if not stale.any():
            return table
        rng = self.rng_for("retime", self.index)
        fixed = np.where(
            stale,
            self.midnight + rng.integers(9 * 3600, 22 * 3600, len(times)) * 1000,
            np.nan_to_num(times.astype(float), nan=0),
        ).astype(np.int64)
        return table.set_column(table.schema.get_field_index(column), column, pa.array(fixed))

    def _times(self, secs: np.ndarray) -> pa.Array:
        """Local wall-clock milliseconds of seconds-of-day on the current day."""
        return pa.array(self.midnight + np.asarray(secs, dtype=np.int64) * 1000)

    def _local_seconds(self, rng, n: int) -> np.ndarray:
        return rng.choice(24, size=n, p=ONLINE_HOURS) * 3600 + rng.integers(0, 3600, n)

    def _own_device(self, rng, person: np.ndarray) -> np.ndarray:
        """Mostly the main phone (the one with the location SDK), sometimes another device."""
        p = self.people
        other = (rng.random(len(person)) * p.device_count[person]).astype(int)
        main = rng.random(len(person)) < self.rates.main_device_share
        return p.device_start[person] + np.where(main, 0, other)

    def _device_columns(self, rng, device: np.ndarray, limited: bool) -> tuple[pa.Array, pa.Array]:
        p = self.people
        is_idfa = p.devices.is_idfa[device]
        ids = p.devices.device_id.take(pa.array(device))
        if limited:
            zeroed = is_idfa & (rng.random(len(device)) < self.rates.limited_ad_tracking_rate)
            ids = pc.if_else(pa.array(zeroed), ZERO_IDFA, ids)
        return ids, pa.array(np.where(is_idfa, "idfa", "oaid"))

    def _brand_products(self, rng, brand: np.ndarray) -> np.ndarray:
        starts = np.searchsorted(self.product_brand, np.arange(self.world.n_brands))
        counts = np.bincount(self.product_brand, minlength=self.world.n_brands)
        return starts[brand] + (rng.random(len(brand)) * counts[brand]).astype(int)

    def _keywords(self, rng, brand: np.ndarray, brand_keyword: np.ndarray) -> pa.Array:
        kw = self.world.keywords
        kw_brand = np.searchsorted(
            self.world.brands.column("brand_id").to_numpy(zero_copy_only=False),
            kw.column("brand_id").to_numpy(zero_copy_only=False),
        )
        kw_type = kw.column("keyword_type").to_numpy(zero_copy_only=False)
        choice = np.empty(len(brand), dtype=int)
        for b in range(self.world.n_brands):
            for kind, want in (("brand", True), ("category", False)):
                pool = np.flatnonzero((kw_brand == b) & (kw_type == kind))
                rows = np.flatnonzero((brand == b) & (brand_keyword == want))
                choice[rows] = pool[rng.integers(0, len(pool), len(rows))]
        return kw.column("keyword").take(pa.array(choice))

    def _on_air(self) -> np.ndarray:
        day = np.datetime64(self.date, "D")
        w = self.world
        return (w.campaign_array("start_date") <= day) & (day <= w.campaign_array("end_date"))

    def _store_open(self) -> np.ndarray:
        day = np.datetime64(self.date, "D")
        w = self.world
        closed = w.store_array("closed_on")
        return (w.store_array("opened_on") <= day) & (_is_null(closed) | (day <= closed))

    def _open_popups(self) -> dict[int, int]:
        types = self.world.store_array("store_type")
        return {
            int(self.store_brand[s]): int(s) for s in np.flatnonzero((types == "popup") & self._store_open())
        }

    def _flagship_of(self, brand: np.ndarray) -> np.ndarray:
        flagships = np.flatnonzero(self.world.store_array("store_type") == "flagship")
        return flagships[np.searchsorted(self.store_brand[flagships], brand)]

    def _typed_phones(self, rng, person: np.ndarray) -> pa.Array:
        """The delivery phone a buyer types: usually their own, sometimes not theirs or mistyped."""
        r, p = self.rates, self.people
        own = p.current_phone(person, self.index).to_numpy(zero_copy_only=False).astype(object)
        u = rng.random(len(person))
        cut = np.cumsum(
            [r.own_phone_share, r.placeholder_phone_share, r.family_phone_share, r.mistyped_phone_share]
        )
        partner = p.household_partner[person]
        family = p.current_phone(np.maximum(partner, 0), self.index).to_numpy(zero_copy_only=False)
        placeholder = np.array(PLACEHOLDER_PHONES, dtype=object)[
            rng.integers(0, len(PLACEHOLDER_PHONES), len(u))
        ]
        phone = np.where(u < cut[0], own, None)
        phone = np.where((u >= cut[0]) & (u < cut[1]), placeholder, phone)
        phone = np.where((u >= cut[1]) & (u < cut[2]), np.where(partner >= 0, family, own), phone)
        typo = (u >= cut[2]) & (u < cut[3])
        for i in np.flatnonzero(typo):
            phone[i] = _mistype(rng, own[i])
            self.mistyped_phones.append((phone[i], int(person[i])))
        return self._spelled(rng, pa.array(phone, pa.string()))

    def _spelled(self, rng, phones: pa.Array) -> pa.Array:
        """Phones as people and systems write them: bare, +86, spaced, dashed."""
        values = phones.to_pylist()
        style = rng.random(len(values))
        out = []
        for v, u in zip(values, style, strict=True):
            if v is None or u < 0.6:
                out.append(v)
            elif u < 0.75:
                out.append(f"+86 {v[:3]} {v[3:7]} {v[7:]}")
            elif u < 0.85:
                out.append(f"{v[:3]}-{v[3:7]}-{v[7:]}")
            elif u < 0.95:
                out.append(f"+86{v}")
            else:
                out.append(f" {v} ")
        return pa.array(out, pa.string())

    def _card_spelling(self, rng, cards: pa.Array) -> pa.Array:
        """Member cards keyed in at the till: some in lower case, some with stray spaces."""
        u = rng.random(len(cards))
        lower = pc.if_else(pa.array(u < 0.1), pc.utf8_lower(cards), cards)
        return pc.if_else(pa.array(u > 0.95), pc.binary_join_element_wise(" ", lower, " ", ""), lower)


def _mistype(rng: np.random.Generator, phone: str) -> str:
    digits = list(phone)
    i = int(rng.integers(3, 10))
    if rng.random() < 0.5:
        digits[i], digits[i + 1] = digits[i + 1], digits[i]
    digits[i] = str((int(digits[i]) + int(rng.integers(1, 10))) % 10)
    return "".join(digits)


def _within_group_rank(group: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of a sorted array."""
    if not len(group):
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    return np.arange(len(group)) - run_start


def _where(mask: np.ndarray, values: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), values, pa.scalar(None, values.type))


def _concat(tables: list[pa.Table | None]) -> pa.Table | None:
    present = [t for t in tables if t is not None and t.num_rows]
    return pa.concat_tables(present, promote_options="permissive") if present else None


def _is_null(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind == "M":
        return np.isnat(values)
    if values.dtype == object:
        return np.array([v is None for v in values], dtype=bool)
    return np.zeros(len(values), dtype=bool)
