"""Where the files databank needs beside its Python package are: the DAG, the Spark jobs, the dbt
project, the feed contracts, the example audiences, the pinned cluster jars, and the checkout a
notebook started in `notebooks/` reads the demo's data from.

Each has one function here and nowhere else. Installed from the wheel, they are shipped inside the
package (`databank/bundled/`, see `pyproject.toml`) and found through `importlib.resources`; in a
checkout (`make setup`) they are its folders. The Spark jobs are a package of their own either way.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
BUNDLED = Path(str(files("databank").joinpath("bundled")))


def _shipped(relative: str) -> Path:
    """`relative` as the wheel ships it, or in the checkout."""
    bundled = BUNDLED / relative
    return bundled if bundled.exists() else CHECKOUT / relative


def dags_folder() -> Path:
    """`dags/`: the Airflow DAG files."""
    return _shipped("dags")


def spark_jobs_folder() -> Path:
    """`spark_jobs/`: the jobs spark-submit runs, one file each."""
    return Path(find_spec("spark_jobs").origin).parent  # found, not imported: the DAG's parse stays light


def dbt_project_folder() -> Path:
    """`dbt_project/`: the marts' dbt project (`databank.dbt_project` also looks elsewhere)."""
    return _shipped("dbt_project")


def contracts_folder() -> Path:
    """`schemas/`: the feed contracts, one YAML file per feed."""
    return _shipped("schemas")


def audience_examples_folder() -> Path:
    """`audiences/`: the example audience definitions, one YAML file each."""
    return _shipped("audiences")


def checkout_folder() -> Path:
    """The checkout databank runs from: relative data paths of a notebook kernel started in
    `notebooks/` are looked up here too."""
    return CHECKOUT


def cluster_jars_pom() -> Path:
    """`jars/pom.xml`: the one place delta-spark's Maven coordinate is pinned."""
    return _shipped("jars/pom.xml")


def cluster_jars_folder() -> Path:
    """`.jars/`: where `make setup` copies the jars `jars/pom.xml` pins."""
    return CHECKOUT / ".jars"
