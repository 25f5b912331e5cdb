"""The generator is a pure function of its arguments: same arguments, same bytes."""

import hashlib
from datetime import date
from pathlib import Path

from databank.contracts import feeds
from databank.generator.generate import DAILY_FEEDS, GenerateArgs, generate

# `out` is relative so that two runs in two folders get literally the same arguments (the summary
# records them as given).
SMALL_RUN = {"out": Path("landing"), "consumers": 150, "days": 3, "start": date(2026, 5, 1), "bad_rate": 0.05}


def _digests(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by path relative to it."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _run_in(folder: Path, monkeypatch, seed: int) -> dict[str, str]:
    folder.mkdir()
    monkeypatch.chdir(folder)
    generate(GenerateArgs(seed=seed, **SMALL_RUN))
    return _digests(folder / "landing")


def test_same_arguments_in_two_folders_give_byte_identical_trees(tmp_path, monkeypatch):
    first = _run_in(tmp_path / "a", monkeypatch, seed=11)
    second = _run_in(tmp_path / "b", monkeypatch, seed=11)

    assert len(first) > 20
    assert first == second


def test_another_seed_changes_every_event_feed(tmp_path, monkeypatch):
    first = _run_in(tmp_path / "a", monkeypatch, seed=11)
    other = _run_in(tmp_path / "b", monkeypatch, seed=12)

    changed = {path.split("/")[0] for path, _ in first.items() ^ other.items()}

    assert set(feeds("event")) <= changed


def test_every_daily_feed_delivers_every_day_an_empty_file_when_it_has_nothing(tmp_path):
    # Two people for two days: most feeds have nothing to send on most days.
    generate(GenerateArgs(out=tmp_path, consumers=2, days=2, start=date(2026, 5, 1), seed=5, bad_rate=0))

    folders = {
        (feed, day): tmp_path / feed / f"dt={day}"
        for feed in DAILY_FEEDS
        for day in ("2026-05-01", "2026-05-02")
    }
    empty = [key for key, folder in folders.items() if [f.stat().st_size for f in folder.iterdir()] == [0]]

    assert all(folder.is_dir() and any(folder.iterdir()) for folder in folders.values())
    assert empty  # some feeds delivered nothing, as a single empty file
