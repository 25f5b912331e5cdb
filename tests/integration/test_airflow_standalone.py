"""`databank airflow`: standalone Airflow on 127.0.0.1 serves the nightly DAG, and stopping it stops every
process it started."""

from __future__ import annotations

import json
import os
import socket
import urllib.request

from databank.airflow_standalone import start
from databank.config import load_settings
from databank.pipeline import DAG_ID


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _api(url: str, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def test_standalone_serves_the_nightly_dag_on_loopback_and_stops_whole(tmp_path):
    settings = load_settings(data_dir=tmp_path, hmac_key="standalone-key")
    server = start(settings, _free_port())
    try:
        user, password = server.login()
        token = _api(f"{server.url}/auth/token", body={"username": user, "password": password})[
            "access_token"
        ]
        dag = _api(f"{server.url}/api/v2/dags/{DAG_ID}", token)
        errors = _api(f"{server.url}/api/v2/importErrors", token)
    finally:
        server.stop()

    assert server.url.startswith("http://127.0.0.1:")
    assert dag["dag_id"] == DAG_ID
    assert dag["is_paused"] is True  # nothing runs until a person unpauses it
    assert errors["total_entries"] == 0
    assert not _group_alive(server.process.pid)
