"""The live store holds live votes' pseudonymised ballots: only its owner may read it."""

from __future__ import annotations

from pathlib import Path

from plumbing.live_store.writer import LiveStore


def test_store_and_its_journal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "live" / "city.sqlite"
    path.parent.mkdir()
    path.touch(mode=0o644)  # a store made by an older UrbanPulse
    store = LiveStore(path)
    store.set_meta(city="city")
    modes = {f.name: f.stat().st_mode & 0o777 for f in path.parent.iterdir()}
    assert modes and set(modes.values()) == {0o600}, modes
