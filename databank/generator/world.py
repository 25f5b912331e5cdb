"""The brand group's reference world: brands, cities, stores, products, campaigns and keywords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

# (name, latitude, longitude, share of consumers)
CITIES: tuple[tuple[str, float, float, float], ...] = (
    ("上海", 31.2304, 121.4737, 0.16),
    ("北京", 39.9042, 116.4074, 0.15),
    ("广州", 23.1291, 113.2644, 0.11),
    ("深圳", 22.5431, 114.0579, 0.11),
    ("杭州", 30.2741, 120.1551, 0.09),
    ("成都", 30.5728, 104.0668, 0.10),
    ("武汉", 30.5928, 114.3055, 0.08),
    ("南京", 32.0603, 118.7969, 0.07),
    ("西安", 34.3416, 108.9398, 0.07),
    ("重庆", 29.5630, 106.5516, 0.06),
)

MALLS = (
    "万象城",
    "来福士",
    "大悦城",
    "万达广场",
    "银泰城",
    "太古里",
    "吾悦广场",
    "龙湖天街",
    "印象城",
    "国金中心",
    "恒隆广场",
    "环球港",
    "正大广场",
    "凯德广场",
    "爱琴海",
    "新世界",
    "宝龙广场",
    "世纪汇",
    "合生汇",
    "K11",
)


@dataclass(frozen=True)
class BrandSpec:
    brand_id: str
    name: str
    name_en: str
    member_prefix: str
    sector: str
    generic_keyword: str
    series: tuple[str, ...]
    # (category, low price, high price)
    categories: tuple[tuple[str, int, int], ...]


BRANDS: tuple[BrandSpec, ...] = (
    BrandSpec(
        "B01",
        "山岚",
        "Shanlan",
        "SL",
        "户外服饰",
        "户外装备",
        ("峰行", "云径", "极光"),
        (("冲锋衣", 599, 1899), ("徒步鞋", 399, 1299), ("速干T恤", 99, 299), ("登山包", 299, 999)),
    ),
    BrandSpec(
        "B02",
        "青禾",
        "Qinghe",
        "QH",
        "护肤",
        "护肤品",
        ("水光", "修护", "焕白"),
        (("精华", 199, 699), ("面霜", 159, 599), ("洁面", 59, 159), ("防晒", 89, 259)),
    ),
    BrandSpec(
        "B03",
        "拾光",
        "Shiguang",
        "SG",
        "精品咖啡",
        "咖啡",
        ("晨曦", "深焙", "花果"),
        (("咖啡豆", 69, 199), ("挂耳咖啡", 39, 129), ("冷萃液", 49, 149), ("咖啡器具", 99, 699)),
    ),
)

PAID_MEDIA = ("douyin", "tencent_ads", "baidu", "weibo")
MEDIA_CPM_CNY = {"douyin": 35.0, "tencent_ads": 30.0, "baidu": 25.0, "weibo": 20.0, "instore_screen": 0.0}


@dataclass(frozen=True)
class World:
    """Reference tables (in contract column order) plus the arrays the simulation reads."""

    start: date
    days: int
    brands: pa.Table
    stores: pa.Table
    products: pa.Table
    campaigns: pa.Table
    keywords: pa.Table
    city_lat: np.ndarray
    city_lon: np.ndarray
    city_share: np.ndarray

    @property
    def n_brands(self) -> int:
        return self.brands.num_rows

    def store_array(self, column: str) -> np.ndarray:
        return self.stores.column(column).to_numpy(zero_copy_only=False)

    def product_array(self, column: str) -> np.ndarray:
        return self.products.column(column).to_numpy(zero_copy_only=False)

    def campaign_array(self, column: str) -> np.ndarray:
        return self.campaigns.column(column).to_numpy(zero_copy_only=False)


def stores_per_brand(consumers: int) -> int:
    return int(np.clip(round(consumers / 2500), 6, 60))


def build_world(rng: np.random.Generator, consumers: int, start: date, days: int) -> World:
    """The deterministic reference world for a brand group of `consumers` people."""
    city_share = np.array([c[3] for c in CITIES])
    city_share = city_share / city_share.sum()
    return World(
        start=start,
        days=days,
        brands=_brands(),
        stores=_stores(rng, consumers, start, days, city_share),
        products=_products(rng, start),
        campaigns=_campaigns(rng, consumers, start, days),
        keywords=_keywords(),
        city_lat=np.array([c[1] for c in CITIES]),
        city_lon=np.array([c[2] for c in CITIES]),
        city_share=city_share,
    )


def _brands() -> pa.Table:
    return pa.table(
        {
            "brand_id": [b.brand_id for b in BRANDS],
            "brand_name": [b.name for b in BRANDS],
            "brand_name_en": [b.name_en for b in BRANDS],
            "sector": [b.sector for b in BRANDS],
        }
    )


def _stores(
    rng: np.random.Generator, consumers: int, start: date, days: int, city_share: np.ndarray
) -> pa.Table:
    rows: dict[str, list] = {
        k: []
        for k in (
            "store_id",
            "brand_id",
            "store_name",
            "city",
            "lat",
            "lon",
            "store_type",
            "opened_on",
            "closed_on",
            "pos_system",
            "has_interactive_screen",
        )
    }
    per_brand = stores_per_brand(consumers)
    for brand in BRANDS:
        # Every city gets a store before the largest get more, in proportion to their share.
        cities = list(range(len(CITIES))) + list(
            rng.choice(len(CITIES), size=max(0, per_brand - len(CITIES)), p=city_share)
        )
        cities = sorted(cities[:per_brand])
        malls_left = {city: list(rng.permutation(MALLS)) for city in sorted(set(cities))}
        for n, city in enumerate(cities, start=1):
            name, lat, lon, _ = CITIES[city]
            store_type = "flagship" if n == 1 else ("outlet" if n == len(cities) else "mall")
            opened, closed = start - timedelta(days=int(rng.integers(200, 2000))), None
            if n == 2:
                store_type = "popup"
                opened = start + timedelta(days=days // 3)
                closed = opened + timedelta(days=max(7, days // 3))
            mall = malls_left[city].pop() if malls_left[city] else f"{MALLS[0]}{n}号"
            label = {"flagship": "旗舰店", "outlet": "奥莱店", "popup": "快闪店"}.get(store_type, "店")
            rows["store_id"].append(f"S{brand.brand_id[1:]}{n:03d}")
            rows["brand_id"].append(brand.brand_id)
            rows["store_name"].append(f"{brand.name}{name}{mall}{label}")
            rows["city"].append(name)
            rows["lat"].append(round(lat + rng.normal(0, 0.05), 6))
            rows["lon"].append(round(lon + rng.normal(0, 0.06), 6))
            rows["store_type"].append(store_type)
            rows["opened_on"].append(opened)
            rows["closed_on"].append(closed)
            rows["pos_system"].append("legacy" if store_type == "mall" and rng.random() < 0.35 else "mpos")
            rows["has_interactive_screen"].append(store_type == "flagship" or bool(rng.random() < 0.4))
    return pa.table(
        rows,
        schema=pa.schema(
            [
                ("store_id", pa.string()),
                ("brand_id", pa.string()),
                ("store_name", pa.string()),
                ("city", pa.string()),
                ("lat", pa.float64()),
                ("lon", pa.float64()),
                ("store_type", pa.string()),
                ("opened_on", pa.date32()),
                ("closed_on", pa.date32()),
                ("pos_system", pa.string()),
                ("has_interactive_screen", pa.bool_()),
            ]
        ),
    )


def _products(rng: np.random.Generator, start: date) -> pa.Table:
    rows: dict[str, list] = {
        k: [] for k in ("sku", "brand_id", "product_name", "category", "list_price", "launched_on")
    }
    for brand in BRANDS:
        n = 0
        for category, low, high in brand.categories:
            for series in brand.series:
                for variant in ("", " 升级款"):
                    n += 1
                    rows["sku"].append(f"{brand.member_prefix}{n:04d}")
                    rows["brand_id"].append(brand.brand_id)
                    rows["product_name"].append(f"{brand.name}{series}{category}{variant}")
                    rows["category"].append(category)
                    rows["list_price"].append(float(round(rng.uniform(low, high) / 10) * 10 - 1))
                    rows["launched_on"].append(start - timedelta(days=int(rng.integers(30, 900))))
    return pa.table(
        rows,
        schema=pa.schema(
            [
                ("sku", pa.string()),
                ("brand_id", pa.string()),
                ("product_name", pa.string()),
                ("category", pa.string()),
                ("list_price", pa.float64()),
                ("launched_on", pa.date32()),
            ]
        ),
    )


def _campaigns(rng: np.random.Generator, consumers: int, start: date, days: int) -> pa.Table:
    """Always-on campaigns on every medium, plus one burst per brand in the middle of the period.

    `cost` is the planned spend at the medium's CPM for the impressions the campaign buys.
    """
    rows: dict[str, list] = {
        k: []
        for k in (
            "campaign_id",
            "brand_id",
            "campaign_name",
            "media",
            "start_date",
            "end_date",
            "cost",
            "daily_weight",
        )
    }
    end = start + timedelta(days=days - 1)
    for brand in BRANDS:
        plans = [(media, start, end, 1.0, f"{brand.name}常青投放·{media}") for media in PAID_MEDIA]
        plans.append(("instore_screen", start, end, 0.0, f"{brand.name}门店互动屏"))
        burst_start = start + timedelta(days=days // 2)
        burst_end = min(end, burst_start + timedelta(days=9))
        plans.append(("douyin", burst_start, burst_end, 3.0, f"{brand.name}新品首发"))
        for n, (media, first, last, weight, name) in enumerate(plans, start=1):
            on_air = (last - first).days + 1
            impressions = weight * on_air * consumers * 0.15
            rows["campaign_id"].append(f"C{brand.brand_id[1:]}{n:02d}")
            rows["brand_id"].append(brand.brand_id)
            rows["campaign_name"].append(name)
            rows["media"].append(media)
            rows["start_date"].append(first)
            rows["end_date"].append(last)
            rows["cost"].append(round(impressions / 1000 * MEDIA_CPM_CNY[media] * rng.uniform(0.9, 1.1), 2))
            rows["daily_weight"].append(weight)
    return pa.table(
        rows,
        schema=pa.schema(
            [
                ("campaign_id", pa.string()),
                ("brand_id", pa.string()),
                ("campaign_name", pa.string()),
                ("media", pa.string()),
                ("start_date", pa.date32()),
                ("end_date", pa.date32()),
                ("cost", pa.float64()),
                ("daily_weight", pa.float64()),
            ]
        ),
    )


def _keywords() -> pa.Table:
    rows: dict[str, list] = {"keyword_id": [], "keyword": [], "brand_id": [], "keyword_type": []}
    for brand in BRANDS:
        brand_words = [brand.name, brand.name_en.lower()] + [f"{brand.name}{s}" for s in brand.series]
        category_words = [c[0] for c in brand.categories] + [brand.generic_keyword]
        for kind, words in (("brand", brand_words), ("category", category_words)):
            for word in words:
                rows["keyword_id"].append(f"K{len(rows['keyword_id']) + 1:04d}")
                rows["keyword"].append(word)
                rows["brand_id"].append(brand.brand_id)
                rows["keyword_type"].append(kind)
    return pa.table(rows)
