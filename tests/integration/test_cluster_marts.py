"""The marts on the cluster profile, on a real Spark standalone cluster (a master and two workers on
127.0.0.1): two nights built by dbt-spark inside the job the nightly DAG submits (its
`build_and_publish_marts` task), gold written as Delta by delta-spark, then the analyst warehouse its
`publish_warehouse` task makes over that gold (`databank.gold_warehouse`).

The same two nights built on the embedded profile (dbt-duckdb on a warehouse copy, gold exported by
delta-rs) are the reference: every gold table must have the same columns, types and rows; the
cluster's warehouse must show every mart with the embedded warehouse's rows and give every bundled
audience the same members. A failed gold gate must leave the published warehouse as it was, and an
erasure must reach the tables delta-spark wrote, their logs and the warehouse's views of them.

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
from deltalake import DeltaTable, write_deltalake
from lakehouse_content import read_table, tables, tables_that_differ

from databank import pipeline
from databank.audiences import size_audience
from databank.config import Settings, load_settings
from databank.gold_warehouse import publish_warehouse_from_gold
from databank.marts import GoldQualityError, MartsBuildError, build_marts
from databank.privacy.purge import Erased, delta_tables, purge_delta_table, purge_warehouse
from databank.resources import audience_examples_folder
from databank.warehouse import open_published

pytestmark = pytest.mark.slow

NIGHTS = (START, START + timedelta(days=1))
KEY = "integration-key"
# The bundled audiences, each allowed out at any size so their members are compared
AUDIENCE_SETTINGS = {"folder": audience_examples_folder(), "min_export_size": 1}


def _data_with_silver(resolved, folder: Path) -> Path:
    settings, _, _ = resolved
    shutil.copytree(settings.lakehouse / "silver", folder / "lakehouse" / "silver")
    return folder


@pytest.fixture(scope="module")
def embedded(resolved, module_tmp) -> Settings:
    data = _data_with_silver(resolved, module_tmp("marts-embedded"))
    settings = load_settings(data_dir=data, hmac_key=KEY, audiences=AUDIENCE_SETTINGS)
    for night in NIGHTS:
        build_marts(settings, night)
    return settings


@pytest.fixture(scope="module")
def embedded_gold(embedded) -> Path:
    return embedded.lakehouse


@pytest.fixture(scope="module")
def cluster(spark_cluster, resolved, module_tmp) -> Settings:
    """The two nights' marts built on the cluster, then the night's warehouse made over its gold."""
    data = _data_with_silver(resolved, module_tmp("marts-cluster"))
    with cluster_profile(spark_cluster, data, data / "landing", KEY) as dag:
        marts = dag.get_task("build_and_publish_marts")
        for night in NIGHTS:
            submit(marts, night)
        assert dag.get_task("publish_warehouse").upstream_task_ids == {"build_and_publish_marts"}
        settings = load_settings(audiences=AUDIENCE_SETTINGS)
        publish_warehouse_from_gold(settings, NIGHTS[-1])
    return settings


@pytest.fixture(scope="module")
def cluster_gold(cluster) -> Path:
    return cluster.lakehouse


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


def test_the_warehouse_over_the_clusters_gold_shows_every_mart_as_gold_holds_it(cluster, embedded):
    with open_published(cluster.warehouse) as con:
        shown = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1"
        ).fetchall()
        rows = {name: con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()[0] for (name,) in shown}
    with open_published(embedded.warehouse) as con:
        expected = {name: con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()[0] for name in rows}

    assert sorted(rows) == pipeline.gold_tables()
    assert rows == expected


def test_every_audience_has_the_same_members_on_the_clusters_warehouse(cluster, embedded):
    """Audiences read the staging and intermediate models too: the warehouse has them."""
    names = sorted(path.stem for path in audience_examples_folder().glob("*.yaml"))
    sizes = {
        name: (size_audience(cluster, name, NIGHTS[-1]), size_audience(embedded, name, NIGHTS[-1]))
        for name in names
    }

    assert names
    assert {name: on_cluster for name, (on_cluster, _) in sizes.items()} == {
        name: on_embedded for name, (_, on_embedded) in sizes.items()
    }
    assert any(on_cluster.matched for on_cluster, _ in sizes.values())


def test_a_failed_gold_gate_leaves_the_published_warehouse_as_it_was(cluster):
    before = cluster.warehouse.read_bytes()

    def failing_gate(settings, build, run_date):
        raise GoldQualityError(f"the gold quality gate failed for {run_date}", [])

    with pytest.raises(GoldQualityError):
        publish_warehouse_from_gold(cluster, NIGHTS[-1], gold_gate=failing_gate)

    assert cluster.warehouse.read_bytes() == before


def test_a_failed_data_test_fails_the_warehouse_and_the_published_one_stays(cluster, tmp_path):
    """The marts job runs the models; the night's data tests run in the warehouse made over its gold."""
    settings = load_settings(data_dir=tmp_path, hmac_key=KEY)
    shutil.copytree(cluster.lakehouse, settings.lakehouse)
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(cluster.warehouse, settings.warehouse)
    before = settings.warehouse.read_bytes()
    consumers = settings.lakehouse / "gold" / "dim_consumers"
    write_deltalake(str(consumers), DeltaTable(str(consumers)).to_pyarrow_table().slice(0, 1), mode="append")

    with pytest.raises(MartsBuildError) as failed:
        publish_warehouse_from_gold(settings, NIGHTS[-1])

    failed_tests = {failure["unique_id"].rsplit(".", 1)[0] for failure in failed.value.failures}
    assert "test.databank.unique_dim_consumers_one_id" in failed_tests
    assert settings.warehouse.read_bytes() == before


def test_erasure_removes_a_consumer_from_every_table_the_cluster_built_and_its_warehouse(cluster, tmp_path):
    """delta-spark wrote these tables; erasure rewrites and vacuums them with delta-rs, and no file,
    the Delta logs included, names the consumer afterwards. The warehouse's views, which listed files
    the vacuum removed, read the tables as they are now."""
    settings = load_settings(data_dir=tmp_path, hmac_key=KEY)
    shutil.copytree(cluster.lakehouse, settings.lakehouse)
    publish_warehouse_from_gold(settings, NIGHTS[-1])
    one_id = read_table(settings.lakehouse, "gold.aipl_state_history").column("one_id")[0].as_py()
    erased = Erased(nodes=frozenset(), one_ids=frozenset({one_id}), records=frozenset())
    assert _files_naming(settings.lakehouse, one_id)

    tables = delta_tables(settings.lakehouse)
    removed = {table.name: purge_delta_table(table, erased, vacuum=True) for table in tables}
    purge_warehouse(settings.warehouse, settings.lakehouse, erased)

    assert removed["dim_consumers"] == 1
    assert removed["aipl_state_history"] > 0
    assert not _files_naming(settings.lakehouse, one_id)
    with open_published(settings.warehouse) as con:
        for mart in pipeline.gold_tables():
            con.execute(f"SELECT count(*) FROM marts.{mart}").fetchall()
        assert con.execute(
            "SELECT count(*) FROM marts.dim_consumers WHERE one_id = ?", [one_id]
        ).fetchone() == (0,)


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
