"""The files databank needs beside its package are found, each through its one function."""

import pytest

from databank import resources


@pytest.mark.parametrize(
    ("folder", "holds"),
    [
        (resources.dags_folder, "databank_nightly.py"),
        (resources.spark_jobs_folder, "ingest_feed.py"),
        (resources.dbt_project_folder, "dbt_project.yml"),
        (resources.contracts_folder, "pos_transactions.yaml"),
        (resources.audience_examples_folder, "*.yaml"),
    ],
)
def test_each_resource_folder_holds_what_it_is_named_for(folder, holds):
    assert list(folder().glob(holds)), f"{folder.__name__}() = {folder()} holds no {holds}"
