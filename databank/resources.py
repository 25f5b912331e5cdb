"""Where the files databank needs beside its Python package are: the DAG, the Spark jobs, the dbt
project, the feed contracts, the example audiences, the pinned cluster jars, and the checkout a
notebook started in `notebooks/` reads the demo's data from.

Each has one function here and nowhere else. Today they are the folders of the checkout the package
sits in (databank runs from a clone: `make setup`); if a wheel ever ships them, these functions are
the one place to resolve them with `importlib.resources` instead.
"""

from __future__ import annotations

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def dags_folder() -> Path:
    """`dags/`: the Airflow DAG files."""
    return CHECKOUT / "dags"


def spark_jobs_folder() -> Path:
    """`spark_jobs/`: the jobs spark-submit runs, one file each."""
    return CHECKOUT / "spark_jobs"


def dbt_project_folder() -> Path:
    """`dbt_project/`: the marts' dbt project (`databank.dbt_project` also looks elsewhere)."""
    return CHECKOUT / "dbt_project"


def contracts_folder() -> Path:
    """`schemas/`: the feed contracts, one YAML file per feed."""
    return CHECKOUT / "schemas"


def audience_examples_folder() -> Path:
    """`audiences/`: the example audience definitions, one YAML file each."""
    return CHECKOUT / "audiences"


def checkout_folder() -> Path:
    """The checkout databank runs from: relative data paths of a notebook kernel started in
    `notebooks/` are looked up here too."""
    return CHECKOUT


def cluster_jars_pom() -> Path:
    """`jars/pom.xml`: the one place delta-spark's Maven coordinate is pinned."""
    return CHECKOUT / "jars" / "pom.xml"


def cluster_jars_folder() -> Path:
    """`.jars/`: where `make setup` copies the jars `jars/pom.xml` pins."""
    return CHECKOUT / ".jars"
