"""Stopping a server's process group stops every process in it, even those that ignore SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from databank.process_groups import stop_groups

# A child that ignores SIGTERM, as a stuck task would, and says when it does.
STUBBORN = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "open(sys.argv[1], 'w'); time.sleep(60)"
)
# The group's leader leaves on SIGTERM.
LEADER = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]]); time.sleep(60)"
)


def test_stop_kills_what_outlives_the_grace_and_returns_once_the_group_is_gone(tmp_path):
    ready = tmp_path / "ignoring SIGTERM"
    process = subprocess.Popen([sys.executable, "-c", LEADER, STUBBORN, str(ready)], start_new_session=True)
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.1)

    stop_groups([process], grace_seconds=1)

    assert ready.exists()
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return
    raise AssertionError(f"process group {process.pid} is still there")
