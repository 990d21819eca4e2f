"""Snapshot publishing: a city's change becomes visible in one step, other cities' files stay,
every file is in the manifest, damaged and foreign files are found and quarantined."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from plumbing.atomic import write_atomic
from plumbing.publishing import (
    WORK,
    CityTransaction,
    current_snapshot,
    publishing,
    read_manifest,
    repair,
    verify,
)
from plumbing.workspace import Workspace
from schemas import datasets as ds


def write(transaction: CityTransaction, rel: str, rows: int) -> Path:
    target = transaction.dataset(ds.REQUESTS) / rel
    write_atomic(pa.table({"n": list(range(rows))}), target, transaction.dataset(ds.REQUESTS), sync=False)
    return target


def published_files(workspace: Workspace) -> list[str]:
    return sorted(p.relative_to(workspace.datasets).as_posix() for p in workspace.datasets.rglob("*.parquet"))


def test_nothing_is_visible_until_the_commit_and_everything_after(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    transaction = CityTransaction(workspace, "nyc", "run-1").begin()
    write(transaction, "date=2026-11-01/part-0.parquet", 3)
    assert not workspace.datasets.exists()
    snapshot = transaction.commit()
    assert current_snapshot(workspace) == snapshot.resolve()
    assert published_files(workspace) == ["requests/city=nyc/date=2026-11-01/part-0.parquet"]
    files = read_manifest(snapshot)[ds.MANIFEST_FILES]
    assert files["requests/city=nyc/date=2026-11-01/part-0.parquet"][ds.FILE_RUN] == "run-1"
    assert (workspace.datasets / "DATA_DICTIONARY.md").exists()
    assert not transaction.tree.exists()


def test_a_failed_block_publishes_nothing_and_leaves_no_tree(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    with publishing(workspace, "nyc", "run-1", "test") as transaction:
        write(transaction, "date=2026-11-01/part-0.parquet", 3)
    with pytest.raises(RuntimeError, match="broke"), publishing(workspace, "nyc", "run-2", "test") as transaction:
        write(transaction, "date=2026-11-02/part-0.parquet", 3)
        raise RuntimeError("broke")
    assert published_files(workspace) == ["requests/city=nyc/date=2026-11-01/part-0.parquet"]
    assert list((workspace.snapshots / WORK).iterdir()) == []


def test_another_city_commit_keeps_the_first_city_files_untouched(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    with publishing(workspace, "nyc", "nyc-1", "test") as transaction:
        write(transaction, "date=2026-11-01/part-0.parquet", 3)
    nyc = workspace.datasets / "requests" / "city=nyc" / "date=2026-11-01" / "part-0.parquet"
    inode = nyc.stat().st_ino
    with publishing(workspace, "sf", "sf-1", "test") as transaction:
        write(transaction, "date=2026-11-01/part-0.parquet", 5)
    assert published_files(workspace) == ["requests/city=nyc/date=2026-11-01/part-0.parquet",
                                          "requests/city=sf/date=2026-11-01/part-0.parquet"]
    assert nyc.stat().st_ino == inode  # linked into the new snapshot, never rewritten
    files = read_manifest(current_snapshot(workspace))[ds.MANIFEST_FILES]
    assert files["requests/city=nyc/date=2026-11-01/part-0.parquet"][ds.FILE_RUN] == "nyc-1"
    assert verify(workspace) == []


def test_a_rewrite_in_the_working_tree_never_touches_the_published_file(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    with publishing(workspace, "nyc", "one", "test") as transaction:
        write(transaction, "date=2026-11-01/part-0.parquet", 3)
    before = (workspace.datasets / "requests" / "city=nyc" / "date=2026-11-01" / "part-0.parquet").read_bytes()
    transaction = CityTransaction(workspace, "nyc", "two").begin()
    write(transaction, "date=2026-11-01/part-0.parquet", 300)
    published = workspace.datasets / "requests" / "city=nyc" / "date=2026-11-01" / "part-0.parquet"
    assert published.read_bytes() == before  # the working tree's link was replaced, not written through
    transaction.commit()
    assert published.read_bytes() != before


def test_a_dead_run_tree_of_the_city_goes_at_the_next_begin(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    dead = workspace.snapshots / WORK / "nyc" / "crashed" / "requests"
    other = workspace.snapshots / WORK / "sf" / "running" / "requests"
    prefixed = workspace.snapshots / WORK / "nyc-north" / "running" / "requests"  # a city whose name starts alike
    for folder in (dead, other, prefixed):
        folder.mkdir(parents=True)
    CityTransaction(workspace, "nyc", "next").begin().abandon()
    assert not dead.parent.exists() and other.exists() and prefixed.exists()


@pytest.mark.parametrize("damage", ["flipped bytes", "truncated", "foreign file", "removed"])
def test_verify_finds_damage_and_repair_quarantines_it(tmp_path: Path, damage: str) -> None:
    workspace = Workspace(tmp_path)
    with publishing(workspace, "nyc", "run-1", "test") as transaction:
        write(transaction, "date=2026-11-01/part-0.parquet", 1_000)
        write(transaction, "date=2026-11-02/part-0.parquet", 10)
    target = workspace.datasets / "requests" / "city=nyc" / "date=2026-11-01" / "part-0.parquet"
    if damage == "flipped bytes":
        data = bytearray(target.read_bytes())
        data[100:120] = bytes(b ^ 0xFF for b in data[100:120])
        target.write_bytes(bytes(data))
    elif damage == "truncated":
        os.truncate(target, target.stat().st_size // 2)
    elif damage == "foreign file":
        target = target.parent / "part-1.parquet"
        target.write_bytes(b"not ours")
    else:
        target.unlink()
    findings = verify(workspace)
    rel = target.relative_to(workspace.datasets).as_posix()
    expected = {"flipped bytes": "checksum mismatch", "truncated": "checksum mismatch",
                "foreign file": "not in the manifest", "removed": "missing"}[damage]
    assert [(f.path, f.problem) for f in findings] == [(rel, expected)]
    repaired, quarantine = repair(workspace)
    assert repaired == findings
    assert verify(workspace) == []
    assert "requests/city=nyc/date=2026-11-02/part-0.parquet" in published_files(workspace)
    if damage != "removed":
        assert (quarantine / rel).exists() and rel not in published_files(workspace)
