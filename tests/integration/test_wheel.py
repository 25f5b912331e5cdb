"""databank installed from its wheel, not run from a checkout: the wheel holds what it runs (the DAG,
the dbt project, the contracts, the example audiences), and `databank demo` works in an empty folder.

The wheel is built from this checkout, installed into a new virtual environment with the versions
the lock pins (uv, from the cache `make setup` filled), and the demo runs there on a tiny brand
with the checkout out of sight: another working directory, no `DATABANK_*` setting, a key folder of
its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CHECKOUT = Path(__file__).resolve().parents[2]


def _uv() -> list[str]:
    """The uv `make setup` installed: on PATH, or a module of the Python that ran it."""
    if found := shutil.which("uv"):
        return [found]
    for python in (os.environ.get("PYTHON", "python3"), "python3.11"):
        command = [python, "-m", "uv"]
        if subprocess.run([*command, "--version"], capture_output=True, check=False).returncode == 0:
            return command
    pytest.fail("uv is not installed: run `make setup`")


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{command[:4]}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(module_tmp) -> Path:
    """A new virtual environment holding databank's wheel and nothing of the checkout; its bin/."""
    root = module_tmp("wheel")
    uv = _uv()
    _run([*uv, "build", "--wheel", "--out-dir", str(root / "dist"), str(CHECKOUT)])
    (wheel,) = (root / "dist").glob("databank-*.whl")
    # The lock's packages, each pinned to its file and hash: installed without resolving anything
    # and, offline, from the cache `make setup` filled. Online, uv revalidates the cached pyspark
    # sdist, and if the index answers anew it unpacks and builds its 450 MB again in the temp folder.
    locked = root / "pylock.toml"
    _run(
        [
            *uv,
            "export",
            "--project",
            str(CHECKOUT),
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--format",
            "pylock.toml",
            "--quiet",
            "--output-file",
            str(locked),
        ]
    )
    _run([*uv, "venv", "--quiet", "--python", sys._base_executable, str(root / "venv")])
    bin_dir = root / "venv" / "bin"
    python = ["--python", str(bin_dir / "python")]
    _run([*uv, "pip", "install", "--quiet", "--offline", *python, "-r", str(locked)])
    _run([*uv, "pip", "install", "--quiet", "--offline", *python, str(wheel)])
    _run([*uv, "pip", "check", "--quiet", *python])
    return bin_dir


def test_the_installed_package_finds_what_it_runs_inside_itself(installed, tmp_path):
    probe = (
        "from databank import resources as r;"
        "print('\\n'.join(str(f()) for f in (r.dags_folder, r.dbt_project_folder, r.contracts_folder,"
        " r.audience_examples_folder, r.spark_jobs_folder)))"
    )

    found = _run([str(installed / "python"), "-c", probe], cwd=tmp_path).stdout.split()

    site = installed.parent / "lib"
    assert len(found) == 5
    for folder in map(Path, found):
        assert site in folder.parents, folder
        assert folder.is_dir(), folder
    assert (Path(found[1]) / "dbt_project.yml").is_file()
    assert (Path(found[2]) / "online_orders.yaml").is_file()


def test_the_demo_runs_from_the_wheel_in_an_empty_folder(installed, tmp_path):
    folder = tmp_path / "brand"
    folder.mkdir()
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABANK_", "AIRFLOW", "PYTHON"))
    }
    environment |= {"XDG_CONFIG_HOME": str(tmp_path / "config"), "COLUMNS": "200"}

    result = subprocess.run(
        [str(installed / "databank"), "demo", "--consumers", "60", "--days", "2"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Demo done" in result.stdout
    assert "2026-05-02: success" in result.stdout
    assert (folder / "data" / "warehouse" / "databank.duckdb").is_file()
    assert (folder / "data" / "reports" / "docs" / "index.html").is_file()
    assert str(CHECKOUT) not in result.stdout  # nothing was read from the checkout
