"""The audience compiler's distance is the dbt macro distance_km, rendered from the dbt project."""

import math

import duckdb

from databank.audiences.compiler import distance_km_sql

SHANGHAI = (31.2304, 121.4737)
BEIJING = (39.9042, 116.4074)


def _haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = (map(math.radians, point) for point in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def test_the_macro_renders_the_haversine_distance_duckdb_computes():
    # GIVEN the project's macro rendered for two coordinate columns
    sql = distance_km_sql("a.lat", "a.lon", "b.lat", "b.lon")

    # WHEN DuckDB evaluates it between Shanghai and Beijing
    with duckdb.connect() as con:
        (km,) = con.execute(
            f"select {sql} from (select ? as lat, ? as lon) as a, (select ? as lat, ? as lon) as b",
            [*SHANGHAI, *BEIJING],
        ).fetchone()

    # THEN it is the great-circle distance
    assert math.isclose(km, _haversine_km(SHANGHAI, BEIJING), rel_tol=1e-12)


def test_a_duckdb_implementation_in_the_project_wins_as_dbt_dispatches_it(tmp_path):
    # GIVEN a project whose distance_km.sql has a DuckDB implementation beside the default one
    (tmp_path / "macros").mkdir()
    (tmp_path / "macros" / "distance_km.sql").write_text(
        "{% macro default__distance_km(lat1, lon1, lat2, lon2) %}generic({{ lat1 }}){% endmacro %}\n"
        "{% macro duckdb__distance_km(lat1, lon1, lat2, lon2) %}native({{ lat2 }}){% endmacro %}\n"
    )

    # WHEN the compiler renders the distance from that project
    sql = distance_km_sql("a.lat", "a.lon", "b.lat", "b.lon", project=tmp_path)

    # THEN it is the DuckDB one
    assert sql == "native(b.lat)"
