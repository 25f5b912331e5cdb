"""dbt as the marts build calls it: the subprocess it runs, and what its artifacts say."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import jinja2
import yaml
from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt.adapters.duckdb.environments.local import LocalEnvironment

from databank.dbt_project import find_dbt_project
from databank.dbt_runner import (
    MEMORY_LIMIT_ENV,
    TEMP_DIRECTORY_ENV,
    THREADS_ENV,
    WAREHOUSE_PATH_ENV,
    BuildResources,
    DbtRun,
    declared_meta,
    failures,
    run_dbt,
    statuses,
)


def test_dbt_does_not_import_python_files_from_the_working_directory(tmp_path, monkeypatch):
    # A file of the analyst's folder named like one of dbt's modules must not shadow it.
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "imported"
    (tmp_path / "dbt_common.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    run = DbtRun(find_dbt_project(), tmp_path / "build.duckdb", date(2026, 5, 13), False, tmp_path / "dbt")

    run_dbt(run, "parse")

    assert not marker.exists()
    assert (tmp_path / "dbt" / "target" / "manifest.json").is_file()


def test_run_results_give_the_count_of_each_status_and_the_failing_nodes(tmp_path):
    # GIVEN dbt's run results of a build where one model errored and one test failed
    results = [
        {"unique_id": "model.a", "status": "success", "message": "OK"},
        {"unique_id": "model.b", "status": "error", "message": " boom \n"},
        {"unique_id": "test.c", "status": "fail", "message": None},
        {"unique_id": "test.d", "status": "pass", "message": None},
    ]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": results}))

    # WHEN they are read
    counted, failed = statuses(tmp_path), failures(tmp_path)

    # THEN every status is counted and the failing nodes carry dbt's message, trimmed
    assert counted == {"success": 1, "error": 1, "fail": 1, "pass": 1}
    assert failed == [
        {"unique_id": "model.b", "status": "error", "message": "boom"},
        {"unique_id": "test.c", "status": "fail", "message": ""},
    ]


def test_no_run_results_means_no_statuses_and_no_failures(tmp_path):
    assert statuses(tmp_path) == {}
    assert failures(tmp_path) == []


def test_declared_meta_comes_from_the_models_of_one_schema(tmp_path):
    # GIVEN a manifest with a mart declaring a partition column, one without, and a staging model
    def model(name: str, schema: str, meta: dict, alias: str | None = None) -> dict:
        config = {"meta": meta}
        return {"resource_type": "model", "name": name, "alias": alias, "schema": schema, "config": config}

    nodes = {
        "model.fct": model("fct_flows", "marts", {"gold_partition_by": "run_date"}, alias="flows"),
        "model.dim": model("dim_brands", "marts", {}),
        "model.stg": model("stg_pos", "staging", {"gold_partition_by": "dt"}),
    }
    (tmp_path / "manifest.json").write_text(json.dumps({"nodes": nodes}))

    # WHEN the marts' gold partitions are read
    declared = declared_meta(tmp_path, "marts", "gold_partition_by")

    # THEN only the mart that declares one is named, by its alias
    assert declared == {"flows": "run_date"}


def _shown(tmp_path, query: str, **changes) -> list[dict]:
    """The rows `dbt show` prints for `query` on a build file, with the DbtRun's fields `changes`."""
    lines: list[str] = []
    run = DbtRun(
        find_dbt_project(),
        tmp_path / "build.duckdb",
        date(2026, 5, 13),
        False,
        tmp_path / "dbt",
        lines.append,
    )
    run_dbt(
        dataclasses.replace(run, **changes),
        "show",
        "--inline",
        query,
        "--output",
        "json",
        "--log-format",
        "text",
    )
    output = "\n".join(lines)
    return json.loads(output[output.index("{") :])["show"]


def test_the_build_runs_with_the_memory_limit_spill_folder_and_threads_of_the_settings(tmp_path):
    # GIVEN build resources other than the defaults
    resources = BuildResources(memory_limit="2GiB", temp_directory=tmp_path / "spill", threads=1)

    # WHEN dbt asks the build's DuckDB what it was given
    query = (
        "select current_setting('memory_limit') as memory_limit,"
        " current_setting('temp_directory') as temp_directory, current_setting('threads') as threads"
    )
    shown = _shown(tmp_path, query, resources=resources)

    # THEN it has them
    assert shown == [{"memory_limit": "2.0 GiB", "temp_directory": str(tmp_path / "spill"), "threads": 1}]


def test_dbt_cuts_local_time_in_the_brands_time_zone(tmp_path):
    # Silver's local dates are cut in databank's business_timezone; dbt's local hours (home and work
    # from LBS) must be read in the same zone, whether the brand set it in databank.toml or not.
    midnight_utc = "timestamp '2026-05-13 00:00:00'"
    zone = "{{ var('business_timezone') }}"
    query = f"select '{zone}' as zone, {{{{ local_time(\"{midnight_utc}\") }}}} as at"

    paris = _shown(tmp_path, query, settings_vars={"business_timezone": "Europe/Paris"})
    unset = _shown(tmp_path, query, settings_vars={})

    assert paris == [{"zone": "Europe/Paris", "at": "2026-05-13T02:00:00"}]  # UTC+2 in May
    assert unset == [{"zone": "Asia/Shanghai", "at": "2026-05-13T08:00:00"}]  # the project's default


def test_the_brands_vars_reach_every_dbt_command(tmp_path):
    resources = BuildResources(vars={"aipl_purchase_window_days": 365})
    query = (
        "select {{ var('aipl_purchase_window_days') }} as purchase,"
        " {{ var('aipl_loyalty_window_days') }} as loyalty"
    )

    shown = _shown(tmp_path, query, resources=resources)

    assert shown == [{"purchase": 365, "loyalty": 365}]  # the loyalty window keeps its default


def test_a_data_test_opened_after_the_build_spilled_keeps_the_spill_folder(tmp_path):
    # dbt-duckdb opens a cursor per model and per data test, on one database. DuckDB refuses to be
    # given its spill folder again once it has spilled there, so a night that spilled in one model
    # failed every data test after it.
    environment = LocalEnvironment(_local_credentials(tmp_path, memory_limit="20MB"))
    build = environment.handle().cursor()

    # GIVEN a model whose sort spilled to disk
    build.execute("select count(*) from (select r, random() as x from range(4000000) t(r) order by x)")
    assert any((tmp_path / "spill").iterdir())

    # WHEN a data test opens its own cursor
    data_test = environment.handle().cursor()

    # THEN it runs, with the spill folder of the settings
    shown = data_test.execute("select current_setting('temp_directory')").fetchall()
    assert shown == [(str(tmp_path / "spill"),)]


def _local_credentials(tmp_path, memory_limit: str) -> DuckDBCredentials:
    """The `local` output of the project's profiles.yml as dbt renders it for a build in `tmp_path`."""
    environment = {
        WAREHOUSE_PATH_ENV: str(tmp_path / "build.duckdb"),
        MEMORY_LIMIT_ENV: memory_limit,
        TEMP_DIRECTORY_ENV: str(tmp_path / "spill"),
        THREADS_ENV: "1",
    }
    template = jinja2.Environment().from_string((find_dbt_project() / "profiles.yml").read_text())
    profiles = yaml.safe_load(
        template.render(env_var=lambda name, default=None: environment.get(name, default))
    )
    output = profiles["databank"]["outputs"]["local"]
    fields = {name: value for name, value in output.items() if name not in ("type", "threads")}
    return DuckDBCredentials(database="build", schema="main", **fields)
