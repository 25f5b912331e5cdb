"""Shared fixtures: one small generated brand group, its ground truth, and its files checked once.

The run is tiny (about 125k records, a few seconds) but two weeks long, so refunds and repeat
purchases show. Damage is frequent enough that every defect kind occurs, even those only order and
receipt lines can carry. Three rates of rare events are raised so a few hundred orders show them:
placeholder and mistyped phones (one in a few hundred orders at the defaults), and refunds (a
refund arrives 1-10 days after its sale, so a two-week run sees only part of them, and as the
last line of its file it is often what a truncated file loses). Every other rate is the default.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest
from contract_check import CheckedFile, check_file

from databank.config import load_settings
from databank.generator.generate import GenerateArgs, GenerationSummary, generate
from databank.generator.rates import Rates
from databank.spark_session import build_session

TINY_RUN = {"consumers": 1200, "days": 14, "start": date(2026, 5, 1), "seed": 7, "bad_rate": 0.08}
RARE_EVENTS_RAISED = replace(Rates(), placeholder_phone_share=0.1, mistyped_phone_share=0.03, refund_rate=0.1)


@pytest.fixture(scope="session", autouse=True)
def _no_key_of_this_machines_user(tmp_path_factory):
    """The default key files live in the user's config folder: no test may find (or write) a real one.

    The vault's master key is there, as on a configured machine: every ingest seals identifiers.
    """
    config_home = tmp_path_factory.mktemp("config-home")
    (config_home / "databank").mkdir(mode=0o700)
    vault_key = config_home / "databank" / "vault.key"
    vault_key.write_text("ab" * 32 + "\n")
    vault_key.chmod(0o600)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(config_home))
        yield


@pytest.fixture(scope="module")
def module_tmp(request, tmp_path_factory) -> Iterator[Callable[[str], Path]]:
    """Makes folders for one module's shared data, removed once its tests are done unless one failed.

    pytest keeps a passed test's tmp_path no longer than the test (tmp_path_retention_policy): this
    does the same for a module's lakehouses and nights, so the suite's disk holds one module's data at
    a time and a passing run leaves none behind.
    """
    made: list[Path] = []
    failed_before = request.session.testsfailed

    def mktemp(name: str) -> Path:
        made.append(tmp_path_factory.mktemp(name))
        return made[-1]

    yield mktemp
    if request.session.testsfailed == failed_before:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> tuple[Path, GenerationSummary]:
    """The output folder of one tiny run, and its summary."""
    out = tmp_path_factory.mktemp("generated") / "landing"
    summary = generate(GenerateArgs(out=out, **TINY_RUN), rates=RARE_EVENTS_RAISED)
    return out, summary


@pytest.fixture(scope="session")
def truth(generated) -> dict[str, list[dict]]:
    """The ground-truth tables of the run, as rows, by name (persons, records, identifiers, defects)."""
    out, _ = generated
    return {p.stem: pq.read_table(p).to_pylist() for p in sorted((out / "_truth").glob("*.parquet"))}


@pytest.fixture(scope="session")
def business_tz(generated) -> ZoneInfo:
    out, _ = generated
    return ZoneInfo(json.loads((out / "_truth" / "summary.json").read_text())["args"]["timezone"])


@pytest.fixture(scope="session")
def landing_files(generated) -> list[Path]:
    """Every delivered file of every feed (the truth folder aside)."""
    out, _ = generated
    return sorted(p for p in out.glob("*/dt=*/*") if p.parts[-3] != "_truth")


@pytest.fixture(scope="session")
def checked(generated, truth, landing_files, business_tz) -> dict[str, CheckedFile]:
    """Each delivered file read and checked against its contract, by path relative to the output.

    Files logged as re-sent are left out: they are byte-identical to the file they repeat (which
    test_generator_defects proves), so reading them again adds nothing but time.
    """
    out, _ = generated
    resent = {d["file"] for d in truth["defects"] if d["kind"] == "duplicate_file"}
    kept = [path for path in landing_files if path.relative_to(out).as_posix() not in resent]
    return {f.file: f for f in (check_file(out, path, business_tz) for path in kept)}


@pytest.fixture(scope="session")
def clean_records(checked) -> dict[str, list[tuple[date, dict]]]:
    """By feed: (delivery day, record) of every record that breaks no contract rule."""
    by_feed: dict[str, list[tuple[date, dict]]] = {}
    for file in checked.values():
        by_feed.setdefault(file.feed, []).extend((file.day, record) for record in file.clean_records())
    return by_feed


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """The one SparkSession of the suite (embedded profile, local cores)."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("spark-data"), hmac_key="suite-key")
    session = build_session(settings, "databank tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's, driven through its chromedriver) for the tests that look at a page
    as a person would; `make browser` installs it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()
