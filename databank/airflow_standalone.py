"""`databank airflow`: Airflow's standalone server (API and UI, scheduler, DAG processor, triggerer) with
the nightly DAG loaded, for a person to look at runs, logs and assets on one machine.

It shares its home (SQLite metadata, logs) with `databank run`, `<data_dir>/airflow`, so the days a
`databank run` or `make demo` ran show in the UI. The UI and API listen on 127.0.0.1 only. New DAGs
start paused: unpausing `databank_nightly` lets the scheduler run every day from `[pipeline]
start_date` on (catchup), so set `end_date` or land the days first.

Standalone starts a tree of processes; they run in a process group of their own so that stopping
stops them all (a signal to the main process alone leaves the scheduler and its workers running).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from databank.config import Settings
from databank.lineage_settings import airflow_environment
from databank.pipeline import DAG_FILE, airflow_home
from databank.process_groups import stop_groups

HOST = "127.0.0.1"
ADMIN = "admin"


class StartError(RuntimeError):
    """Airflow did not come up; the message says where its output is."""


@dataclass(frozen=True)
class Standalone:
    process: subprocess.Popen
    url: str
    home: Path
    log_file: Path

    def login(self) -> tuple[str, str]:
        """The admin user and the password standalone generated for it."""
        passwords = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())
        return ADMIN, passwords[ADMIN]

    def stop(self, grace_seconds: float = 30) -> None:
        """Stop the server and every process it started; those still there after the grace are killed."""
        stop_groups([self.process], grace_seconds)


def standalone_environment(settings: Settings, port: int) -> dict[str, str]:
    """The environment of the standalone processes: this project's Airflow home, DAG and interpreter."""
    home = airflow_home(settings)
    bin_dir = Path(sys.executable).parent  # standalone starts its parts as `airflow ...` from PATH
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        # Task processes read the databank settings anew; they must find the same data.
        "DATABANK_DATA_DIR": str(settings.data_dir.resolve()),
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
        **airflow_environment(settings.lineage, settings.reports),
    }


def start(settings: Settings, port: int = 8080, timeout_seconds: float = 180) -> Standalone:
    """Start `airflow standalone` and return once its API answers healthy; raise StartError otherwise."""
    home = airflow_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    log_file = home / "standalone.log"
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), "standalone"],
            env=standalone_environment(settings, port),
            cwd=home,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Standalone(process, f"http://{HOST}:{port}", home, log_file)
    deadline = time.monotonic() + timeout_seconds
    while not _healthy(server.url):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise StartError(f"Airflow standalone did not become healthy at {server.url}; see {log_file}")
        time.sleep(2)
    return server


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as response:
            health = json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return all(part.get("status") == "healthy" for part in health.values() if isinstance(part, dict))
