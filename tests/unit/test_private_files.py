"""What databank writes is never readable by every user of the machine: pseudonymised data is still
personal data, and the warehouse, exports and Airflow's metadata (its admin password too) are files."""

import os
import stat

import pytest
from typer.testing import CliRunner

from databank.cli import app


@pytest.fixture
def restored_umask():
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def test_every_file_and_folder_a_command_writes_is_closed_to_other_users(tmp_path, restored_umask):
    os.umask(0o022)  # a typical login shell's

    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "landing"), "--consumers", "20"])

    assert result.exit_code == 0, result.output
    written = list((tmp_path / "landing").rglob("*"))
    assert written
    open_to_others = [p for p in written if stat.S_IMODE(p.stat().st_mode) & 0o007]
    assert open_to_others == []
