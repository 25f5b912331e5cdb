"""The marts on the cluster profile, on a real Spark standalone cluster (a master and two workers on
127.0.0.1): two nights built by dbt-spark inside the job the nightly DAG submits (its
`build_and_publish_marts` task), gold written as Delta by delta-spark. The same two nights built on the
embedded profile (dbt-duckdb on a warehouse copy, gold exported by delta-rs) must give every gold
table with the same columns, types and rows.

Both profiles start from the same silver, the integration tests' three resolved days (`resolved`). The
first night is each profile's first build, a full one; the second is incremental and merges into the
tables the first left (on the cluster, in an application whose catalog starts empty).
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cluster_submit import cluster_profile, submit
from delta_reading import START
from lakehouse_content import read_table, tables, tables_that_differ

from databank import pipeline
from databank.config import load_settings
from databank.marts import build_marts
from databank.privacy.purge import Erased, delta_tables, purge_delta_table

pytestmark = pytest.mark.slow

NIGHTS = (START, START + timedelta(days=1))
KEY = "integration-key"


def _data_with_silver(resolved, folder: Path) -> Path:
    settings, _, _ = resolved
    shutil.copytree(settings.lakehouse / "silver", folder / "lakehouse" / "silver")
    return folder


@pytest.fixture(scope="module")
def embedded_gold(resolved, module_tmp) -> Path:
    data = _data_with_silver(resolved, module_tmp("marts-embedded"))
    settings = load_settings(data_dir=data, hmac_key=KEY)
    for night in NIGHTS:
        build_marts(settings, night)
    return settings.lakehouse


@pytest.fixture(scope="module")
def cluster_gold(spark_cluster, resolved, module_tmp) -> Path:
    data = _data_with_silver(resolved, module_tmp("marts-cluster"))
    with cluster_profile(spark_cluster, data, data / "landing", KEY) as dag:
        marts = dag.get_task("build_and_publish_marts")
        for night in NIGHTS:
            submit(marts, night)
    return data / "lakehouse"


def _gold(lakehouse: Path) -> list[str]:
    return [f"gold.{name}" for name in tables(lakehouse, "gold")]


def test_the_cluster_publishes_every_mart_as_a_gold_table(cluster_gold, embedded_gold):
    expected = [f"gold.{name}" for name in pipeline.gold_tables()]

    assert _gold(cluster_gold) == expected
    assert _gold(embedded_gold) == expected


def test_every_gold_table_holds_the_same_rows_on_both_profiles(cluster_gold, embedded_gold):
    assert not tables_that_differ(cluster_gold, embedded_gold, _gold(embedded_gold))


def test_both_nights_are_in_gold(cluster_gold):
    funnel = read_table(cluster_gold, "gold.aipl_daily_funnel")
    touchpoints = read_table(cluster_gold, "gold.fct_touchpoints")

    assert sorted(set(funnel.column("funnel_date").to_pylist())) == list(NIGHTS)
    assert touchpoints.num_rows > 0


def test_erasure_removes_a_consumer_from_every_table_the_cluster_built(cluster_gold, tmp_path):
    """delta-spark wrote these tables; erasure rewrites and vacuums them with delta-rs, and no file,
    the Delta logs included, names the consumer afterwards."""
    lakehouse = tmp_path / "lakehouse"
    for layer in ("gold", "intermediate"):
        shutil.copytree(cluster_gold / layer, lakehouse / layer)
    one_id = read_table(lakehouse, "gold.aipl_state_history").column("one_id")[0].as_py()
    erased = Erased(nodes=frozenset(), one_ids=frozenset({one_id}), records=frozenset())
    assert _files_naming(lakehouse, one_id)

    removed = {table.name: purge_delta_table(table, erased, vacuum=True) for table in delta_tables(lakehouse)}

    assert removed["dim_consumers"] == 1
    assert removed["aipl_state_history"] > 0
    assert not _files_naming(lakehouse, one_id)


def _files_naming(folder: Path, value: str) -> list[Path]:
    """Files holding `value` as bytes, or among the values of a Parquet file (pages are compressed)."""
    return [
        path
        for path in folder.rglob("*")
        if path.is_file()
        and (
            value.encode() in path.read_bytes()
            or (path.suffix == ".parquet" and value in str(pq.read_table(path).to_pylist()))
        )
    ]
