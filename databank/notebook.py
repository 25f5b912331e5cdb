"""What the analyst notebooks share: the warehouse opened read-only, queries as DataFrames, the brands
in scope, and charts that show Chinese brand and store names.

    from databank.notebook import connect, query
    con = connect()  # the warehouse databank.config names (DATABANK_WAREHOUSE_PATH, DATABANK_DATA_DIR, ...)
    query(con, "SELECT * FROM marts.aipl_daily_funnel WHERE brand_id = $brand", {"brand": "B01"})

A notebook's kernel starts in the notebook's folder, so a relative warehouse path (the default
`data/warehouse/databank.duckdb`) that is not found there is looked for under the project root too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import duckdb
import pandas as pd
from matplotlib import font_manager, rcParams

from databank.config import Settings, load_settings
from databank.resources import checkout_folder
from databank.warehouse import NoWarehouseError, open_published

# Sans-serif families with Chinese glyphs, preferred first: Noto/Source Han (Linux, `fonts-noto-cjk`),
# then those macOS and Windows ship. The first installed one leads; the default fonts stay behind it.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "PingFang SC",
    "Heiti SC",
    "Microsoft YaHei",
    "SimHei",
)
PROJECT_ROOT = checkout_folder()


def connect(settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """The analyst warehouse, read-only, at the path the configuration names."""
    path = (settings or load_settings()).warehouse
    if not path.is_file() and not path.is_absolute() and (PROJECT_ROOT / path).is_file():
        path = PROJECT_ROOT / path
    try:
        return open_published(path.resolve())
    except NoWarehouseError as error:
        raise NoWarehouseError(
            f"{error}; or point DATABANK_WAREHOUSE_PATH (or DATABANK_DATA_DIR) at an existing one "
            "before starting the notebook's kernel."
        ) from error


def query(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object] | Sequence[object] = ()
) -> pd.DataFrame:
    """The result of `sql` with its bound parameters, as a DataFrame.

    DuckDB sums counts as HUGEINT, which pandas would turn into floats; they come back as integers.
    """
    cursor = con.execute(sql, params)
    hugeints = [name for name, type_, *_ in cursor.description if str(type_) == "HUGEINT"]
    frame = cursor.df()
    return frame.astype(dict.fromkeys(hugeints, "Int64"))


def relation_readable(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """True when `schema.name` exists and can be read.

    Staging and intermediate views read silver's Parquet files; they are unreadable when the warehouse
    was copied away from its lakehouse, while the marts (tables) always are.
    """
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $schema AND table_name = $name",
        {"schema": schema, "name": name},
    ).fetchone()[0]
    if not exists:
        return False
    try:
        con.execute(f'SELECT * FROM "{schema}"."{name}" LIMIT 1').fetchall()
    except duckdb.Error:
        return False
    return True


BRAND_NAMES = "SELECT brand_id, brand_name, brand_name_en FROM marts.dim_brands"


def brands(con: duckdb.DuckDBPyConnection, brand_ids: str | Iterable[str] | None = None) -> pd.DataFrame:
    """The brands in scope, indexed by brand_id, with their names and a chart `label` ("山岚 Shanlan").

    `brand_ids`: one id, several, or None for every brand the marts know; an unknown id is an error
    that lists the known ones.
    """
    known = query(con, f"SELECT * FROM ({BRAND_NAMES}) ORDER BY brand_id").set_index("brand_id")
    if isinstance(brand_ids, str):
        brand_ids = [brand_ids]
    wanted = list(known.index) if brand_ids is None else list(brand_ids)
    unknown = sorted(set(wanted) - set(known.index))
    if unknown:
        raise ValueError(f"unknown brand ids {unknown}; the warehouse knows {list(known.index)}")
    selected = known.loc[wanted].copy()
    selected["label"] = (
        selected["brand_name"].fillna("") + " " + selected["brand_name_en"].fillna("")
    ).str.strip()
    return selected


def as_of_day(value: str | date | None, latest: date) -> date:
    """The day a notebook reads: `value` (an ISO day or a date) when given, else `latest`; never after it."""
    if value is None:
        return latest
    day = date.fromisoformat(value) if isinstance(value, str) else value
    if day > latest:
        raise ValueError(f"{day} is after the latest day the warehouse holds, {latest}")
    return day


def use_cjk_fonts() -> str | None:
    """Put the first installed CJK-capable family ahead of matplotlib's default sans-serif fonts, so
    Chinese names render (glyphs it lacks fall back to the defaults); return its name, or None when
    none is installed (Chinese characters then show as boxes, nothing fails)."""
    family = _first_cjk_family()
    if family is None:
        # matplotlib keeps the list of fonts it found on its first run: a font installed since
        # (`make browser` installs Noto CJK) is not in it until it is added.
        _add_fonts_installed_since()
        family = _first_cjk_family()
    if family is not None:
        rcParams["font.family"] = "sans-serif"
        rcParams["font.sans-serif"] = [family, *(f for f in rcParams["font.sans-serif"] if f != family)]
    return family


def _first_cjk_family() -> str | None:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _add_fonts_installed_since() -> None:
    known = {font.fname for font in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            font_manager.fontManager.addfont(path)
