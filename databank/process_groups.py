"""Stopping the process groups of the servers databank starts (Airflow standalone, a local Spark cluster).

Each server runs as the leader of its own process group, so one signal reaches every process it
started; a stop returns only once every group is gone, and says so when one outlives SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence

KILLED_GRACE_SECONDS = 10  # for the processes killed after the grace to be reaped


class GroupOutlivedKillError(RuntimeError):
    """A process group still had processes after SIGKILL and the time to reap them."""


def stop_groups(leaders: Sequence[subprocess.Popen], grace_seconds: float) -> None:
    """SIGTERM every group in order; SIGKILL those still there after the grace; wait until all are gone."""
    for leader in leaders:
        signal_group(leader.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for leader in leaders:
        with contextlib.suppress(subprocess.TimeoutExpired):
            leader.wait(timeout=max(0.1, deadline - time.monotonic()))  # reaps the group's leader
    stubborn = [leader for leader in leaders if not _gone(leader.pid, deadline)]
    for leader in stubborn:
        signal_group(leader.pid, signal.SIGKILL)
        leader.wait()
    # A killed process stays in its group until its parent, or init for an orphan, reaps it.
    reaped_by = time.monotonic() + KILLED_GRACE_SECONDS
    outlived = [leader.pid for leader in stubborn if not _gone(leader.pid, reaped_by)]
    if outlived:
        raise GroupOutlivedKillError(f"processes of the groups {outlived} outlived SIGKILL")


def signal_group(group: int, signum: int) -> bool:
    """Send a signal to a process group; whether the group still had a process to receive it."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    return True


def _gone(group: int, deadline: float) -> bool:
    """Whether the process group is gone by `deadline` (monotonic seconds)."""
    while signal_group(group, 0):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True
