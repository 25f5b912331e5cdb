"""Consumer journeys read from the delivered files look like a real brand's: funnel volumes, click-through,
repeat purchase, refunds, till identification and store pings in plausible ranges."""

import math
from collections import Counter, defaultdict
from datetime import date

EARTH_RADIUS_M = 6_371_000


def _count(records, column: str) -> Counter:
    return Counter(record[column] for _, record in records)


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def test_click_through_rate_is_between_three_per_mille_and_five_percent(clean_records):
    kinds = _count(clean_records["media_exposures"], "event_type")

    click_through = kinds["click"] / kinds["impression"]

    assert 0.003 < click_through < 0.05


def test_impressions_and_pings_outnumber_online_events_which_outnumber_purchases(clean_records):
    impressions = _count(clean_records["media_exposures"], "event_type")["impression"]
    pings, events = len(clean_records["lbs_pings"]), len(clean_records["online_events"])

    order_lines, pos_lines = len(clean_records["online_orders"]), len(clean_records["pos_transactions"])

    assert min(impressions, pings) > events > max(order_lines, pos_lines) > 0


def test_some_but_not_most_online_buyers_buy_on_two_or_more_days(clean_records, truth):
    person_of = {r["record_id"]: r["person_id"] for r in truth["records"] if r["feed"] == "online_orders"}
    days_by_buyer = defaultdict(set)
    for day, line in clean_records["online_orders"]:
        if line["order_type"] == "sale":
            days_by_buyer[person_of[line["order_line_id"]]].add(day)

    repeat_share = sum(len(days) >= 2 for days in days_by_buyer.values()) / len(days_by_buyer)

    assert 0 < repeat_share < 0.6


def test_refunds_are_one_to_ten_percent_of_order_lines(clean_records):
    types = _count(clean_records["online_orders"], "order_type")

    refund_share = types["refund"] / types.total()

    assert 0.01 <= refund_share <= 0.10


def _sale_line_delivery_days(checked, truth) -> dict[str, date]:
    """The day each sale line was delivered; a line damaged past reading counts by its logged id."""
    damaged = {
        d["record"]: checked[d["file"]].day
        for d in truth["defects"]
        if d["feed"] == "online_orders" and d["record"] is not None
    }
    read = {
        record["order_line_id"]: file.day
        for file in checked.values()
        if file.feed == "online_orders"
        for record in file.records
        if record.get("order_type") == "sale"
    }
    return damaged | read


def test_every_refund_points_at_a_sale_line_delivered_on_an_earlier_day(checked, clean_records, truth):
    sale_day = _sale_line_delivery_days(checked, truth)
    refunds = [
        (day, line["refund_of_line_id"])
        for day, line in clean_records["online_orders"]
        if line["order_type"] == "refund"
    ]

    unmatched = [(day, sale) for day, sale in refunds if not (sale in sale_day and sale_day[sale] < day)]

    assert refunds
    assert unmatched == []


def test_some_receipts_are_anonymous_and_some_carry_a_member_card(clean_records):
    identified_by = defaultdict(set)
    for _, line in clean_records["pos_transactions"]:
        identified_by[line["receipt_id"]] |= {
            c for c in ("member_card_no", "phone", "payment_token") if line[c]
        }

    anonymous = [receipt for receipt, ids in identified_by.items() if not ids]
    with_card = [receipt for receipt, ids in identified_by.items() if "member_card_no" in ids]

    assert anonymous
    assert with_card


def test_store_wifi_and_beacon_pings_lie_within_200_m_of_their_store(clean_records):
    store_at = {s["store_id"]: (float(s["lat"]), float(s["lon"])) for _, s in clean_records["stores"]}
    store_pings = [p for _, p in clean_records["lbs_pings"] if p["source"] in ("wifi", "beacon")]

    distances = [_distance_m(float(p["lat"]), float(p["lon"]), *store_at[p["store_id"]]) for p in store_pings]

    assert store_pings
    assert max(distances) < 200
