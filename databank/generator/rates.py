"""Behaviour rates of the synthetic brand, per consumer and day unless said otherwise.

They are chosen so that a day of a brand with N consumers resembles a real one: media impressions
and location pings dominate (a few per consumer and day), online events follow (under one per
consumer and day), then online order lines and POS receipt lines (around one per hundred consumers
and day). At the defaults, a day of 100,000 consumers holds roughly 235k impressions, 420k LBS
pings, 80k online events, 1.7k online order lines and 0.7k POS lines (measured at 30k consumers;
POS grows a little with the number of stores, which grows with the brand).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rates:
    # Paid media: impressions per consumer-day (heavy-tailed propensity), click-through rate at
    # average interest, share of video impressions watched to the end, live views per douyin ad.
    impressions_per_day: float = 2.0
    click_through_rate: float = 0.012
    video_complete_rate: float = 0.25
    live_view_rate: float = 0.02
    limited_ad_tracking_rate: float = 0.08  # iOS impressions whose IDFA is all zeros

    # Online sessions per consumer-brand-day before boosts; boosts for a recent exposure, a recent
    # click, interest and earlier purchases; what a session holds.
    sessions_per_day: float = 0.035
    exposure_boost: float = 1.0
    click_boost: float = 6.0
    interest_boost: float = 4.0
    buyer_boost: float = 2.0
    search_share: float = 0.45
    page_views_per_session: float = 1.6
    favorite_rate: float = 0.06
    add_to_cart_rate: float = 0.09
    follow_store_rate: float = 0.015
    coupon_claim_rate: float = 0.03
    live_view_session_rate: float = 0.04
    sample_rate: float = 0.005
    web_login_rate: float = 0.4
    family_device_use_rate: float = 0.2  # sessions on the household's shared tablet
    main_device_share: float = 0.6  # app use and ad views on the main phone rather than any device
    store_tablet_rate: float = 0.02  # orders placed on a flagship's in-store tablet

    # Online orders: chance a session ends in an order, by what it held; lines and coupons.
    order_after_cart: float = 0.25
    order_after_browse: float = 0.002
    order_interest_lift: float = 0.01
    extra_line_rate: float = 0.35
    coupon_redeem_rate: float = 0.6
    refund_rate: float = 0.04
    refund_max_days: int = 10  # a refund is paid out 1..refund_max_days days after the sale
    review_rate: float = 0.15
    positive_review_share: float = 0.82

    # Phones as typed on orders: the buyer's own, a placeholder, a family member's, a typo, none.
    own_phone_share: float = 0.85
    placeholder_phone_share: float = 0.02
    family_phone_share: float = 0.003
    mistyped_phone_share: float = 0.005
    member_binding_share: float = 0.6  # orders of members that carry the bound member id

    # Stores: visit hazard per consumer-brand-day at the home store, decaying with distance;
    # dwell; purchase and identification at the till.
    visits_per_day: float = 0.005
    visit_distance_km: float = 6.0
    short_visit_share: float = 0.15  # pass-bys under the 5-minute dwell threshold
    purchase_after_visit: float = 0.35
    member_card_shown: float = 0.75
    join_at_till: float = 0.12
    phone_at_till: float = 0.10
    screen_interaction_rate: float = 0.2
    return_rate: float = 0.02
    return_max_days: int = 7

    # Location: share of consumers with the location SDK, background pings per SDK device-day,
    # share of store visitors whose phone the store Wi-Fi sees.
    sdk_share: float = 0.35
    background_pings_per_day: float = 12.0
    wifi_seen_share: float = 0.5

    # Identity noise and CRM.
    initial_member_share: float = 0.10
    phone_change_share: float = 0.02
    family_tablet_share: float = 0.15  # households of 2+ with a shared tablet
    member_lapse_per_day: float = 0.0005
    erasure_requests_per_day: float = 0.00005
    interest_decay_per_day: float = 0.85
