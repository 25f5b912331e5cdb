"""The cluster profile's jars: jars/pom.xml pins the delta-spark the lock implies, `make setup` copied
exactly what Spark lacks, and sessions and jobs put them on spark.jars."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pyspark
import pytest

from databank.config import load_settings
from databank.spark_conf import JARS_DIR, JARS_POM, MissingJarsError, _delta_spark_package

POM = {"m": "http://maven.apache.org/POM/4.0.0"}
SPARK_JARS = Path(pyspark.__file__).parent / "jars"
VERSIONED = re.compile(r"^(?P<artifact>.+?)-(?P<version>\d[\w.\-]*)\.jar$")


def _pinned() -> list[str]:
    root = ET.parse(JARS_POM).getroot()
    return [
        ":".join(d.findtext(f"m:{part}", namespaces=POM) for part in ("groupId", "artifactId", "version"))
        for d in root.findall("m:dependencies/m:dependency", POM)
    ]


def _artifacts(folder: Path) -> dict[str, str]:
    return {m["artifact"]: m["version"] for jar in folder.glob("*.jar") if (m := VERSIONED.match(jar.name))}


def test_the_pom_pins_the_delta_spark_the_lock_implies():
    assert _pinned() == [_delta_spark_package()]


def test_the_coordinate_names_the_spark_version_and_scala_of_the_locked_pyspark():
    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    scala = _artifacts(SPARK_JARS)["scala-library"].rsplit(".", 1)[0]

    assert _delta_spark_package().split(":")[1] == f"delta-spark_{spark_minor}_{scala}"


def test_setup_copied_delta_and_nothing_spark_already_ships():
    copied = _artifacts(JARS_DIR)

    _, delta_spark, version = _delta_spark_package().split(":")

    assert {delta_spark: version, "delta-storage": version}.items() <= copied.items()
    assert not set(copied) & set(_artifacts(SPARK_JARS))


def test_jackson_modules_added_to_spark_match_its_jackson():
    spark_jackson = _artifacts(SPARK_JARS)["jackson-databind"]

    assert {v for a, v in _artifacts(JARS_DIR).items() if a.startswith("jackson-")} == {spark_jackson}


def test_cluster_sessions_and_jobs_put_the_local_jars_on_spark_jars():
    conf = load_settings(profile="cluster").cluster.spark_conf()

    assert {Path(p) for p in conf["spark.jars"].split(",")} == set(JARS_DIR.absolute().glob("*.jar"))
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert "spark.jars.packages" not in conf


def test_missing_jars_say_how_to_fetch_them(tmp_path):
    cluster = load_settings(profile="cluster", cluster={"jars_dir": tmp_path}).cluster

    with pytest.raises(MissingJarsError, match=re.escape(_delta_spark_package())):
        cluster.spark_conf()


def test_a_platform_that_provides_delta_gets_no_jars():
    cluster = load_settings(profile="cluster", cluster={"jars_dir": None, "conf": {"spark.x": "1"}}).cluster

    assert "spark.jars" not in cluster.spark_conf()
    assert cluster.spark_conf()["spark.x"] == "1"
