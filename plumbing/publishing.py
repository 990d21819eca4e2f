"""Snapshot publishing: a run's partitions, aggregates and dead letters become visible together.

    <home>/datasets -> snapshots/000042-<run>        the symlink researchers read through
    <home>/snapshots/000042-<run>/MANIFEST.json      every file's size, SHA-256 and writing run
    <home>/snapshots/000042-<run>/requests/city=nyc/request_date=2026-11-30/part-0.parquet
    <home>/snapshots/.work/<city>/<run>/             a run's working tree, never read by anyone

A writer holds its city's lock (`Workspace.city_lock`) for the whole run, so writers of one city
take turns and the CLI says who it waits for; writers of different cities run side by side. The
run starts from hard links of its city's published files, rewrites what it changes (a rewrite
replaces the link, so the published file is never touched) and commits under the short home
lock: a new snapshot is linked together from the current one with this city's folders swapped
for the run's, one `syncfs` of the home's file system makes every new file durable, the manifest is written, and one
`rename` of a symlink switches `datasets` to it. A crash at any point leaves the previous
snapshot published; the next writer of the city removes the dead run's working tree.

Why not Delta Lake: `deltalake` tables need the `deltalake` package for polars and DuckDB's
`delta` extension, which DuckDB downloads on first use and which many city networks (and this
project's machines) cannot fetch; plain hive Parquet behind a switched symlink is read correctly
by polars, DuckDB and pyarrow with nothing installed. Hand-written because no library publishes
a multi-dataset Parquet snapshot by symlink switch; what it needs is `os.link` and `os.replace`.

Readers resolve `datasets` once per file open, so a reader that lists files across a switch may
mix two snapshots; old snapshots stay for `KEEP_SECONDS` (and the last `KEEP_SNAPSHOTS`), and a
reader that needs a fixed view reads `current_snapshot(workspace)` instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from plumbing.atomic import fsync_dir, sync_file_system
from plumbing.locks import exclusive
from plumbing.paths import city_folder, partition_value
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas.dictionary import data_dictionary

LOG = logging.getLogger("urbanpulse")

WORK = ".work"  # working trees of runs, one folder per city
BUILDING = ".building"  # snapshots being linked together by a commit
SCRATCH = ".scratch"  # a run's intermediate files inside its working tree (never published)
KEEP_SNAPSHOTS = 3
KEEP_SECONDS = 300.0
DICTIONARY_FILE = "DATA_DICTIONARY.md"
REPAIR_RUN = "repair"  # the run named in the manifest of a snapshot `repair` published


class CorruptDatasetError(RuntimeError):
    """A published file does not match its manifest entry (or has none)."""


def current_snapshot(workspace: Workspace) -> Path | None:
    """The snapshot folder `datasets` points at, or None before the first commit."""
    link = workspace.datasets
    if not link.is_symlink():
        return None
    return (link.parent / os.readlink(link)).resolve()


def read_manifest(snapshot: Path | None) -> dict:
    if snapshot is None or not (snapshot / ds.MANIFEST_FILE).exists():
        return {ds.MANIFEST_VERSION: 0, ds.MANIFEST_FILES: {}}
    return json.loads((snapshot / ds.MANIFEST_FILE).read_text(encoding="utf-8"))


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: Path, entry: dict | None, shown_as: str) -> None:
    """Raise `CorruptDatasetError` unless `path` is what the manifest says it is."""
    if entry is None:
        raise CorruptDatasetError(f"{shown_as} is not in the datasets' manifest (a file from elsewhere?): "
                                  "run `urbanpulse datasets repair` to quarantine it")
    if path.stat().st_size != entry[ds.FILE_BYTES] or file_digest(path) != entry[ds.FILE_SHA256]:
        raise CorruptDatasetError(f"{shown_as} does not match its checksum (damaged on disk?): run "
                                  "`urbanpulse datasets repair` to quarantine it, then re-ingest its inputs")


def _link_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, copy_function=os.link, dirs_exist_ok=True)


def _migrate_legacy(workspace: Workspace) -> None:
    """A `datasets` folder from before snapshots (no city partition) is moved aside, once."""
    if workspace.datasets.is_dir() and not workspace.datasets.is_symlink():
        aside = workspace.root / f"datasets-before-snapshots-{datetime.now(UTC):%Y%m%dT%H%M%S}"
        os.replace(workspace.datasets, aside)
        LOG.warning("moved the datasets of an older UrbanPulse (no city partition) to %s; "
                    "re-ingest their inputs to publish them again", aside)


@dataclass
class CityTransaction:
    """One city's change to every published dataset, made visible in one step by `commit()`."""

    workspace: Workspace
    city: str
    run_id: str
    tree: Path = field(init=False)
    base: dict = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.tree = self.workspace.snapshots / WORK / partition_value(self.city) / partition_value(self.run_id)

    def dataset(self, name: str) -> Path:
        """This city's folder of dataset `name` in the working tree (where the run writes)."""
        return self.tree / name / city_folder(self.city)

    def scratch(self, name: str) -> Path:
        """A private folder of this run for intermediate files (e.g. a shuffle spilled to disk):
        never published, removed with the run's working tree at commit or abandon."""
        path = self.tree / SCRATCH / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def published_files(self, name: str) -> dict[str, dict]:
        """Manifest entries of the city's files of dataset `name` when the run began, by path
        relative to `dataset(name)` (what a sink checks before it merges into a file)."""
        prefix = f"{name}/{city_folder(self.city)}/"
        return {rel[len(prefix):]: entry for rel, entry in self.base.items() if rel.startswith(prefix)}

    def begin(self) -> CityTransaction:
        _migrate_legacy(self.workspace)
        if self.tree.parent.is_dir():
            for stale in self.tree.parent.iterdir():
                shutil.rmtree(stale, ignore_errors=True)  # the city lock is ours: a dead run's tree
        self.tree.mkdir(parents=True)
        current = current_snapshot(self.workspace)
        manifest = read_manifest(current)
        prefixes = tuple(f"{name}/{city_folder(self.city)}/" for name in ds.PUBLISHED)
        self.base = {rel: entry for rel, entry in manifest[ds.MANIFEST_FILES].items() if rel.startswith(prefixes)}
        for name in ds.PUBLISHED:
            self.dataset(name).mkdir(parents=True)
            if current is not None and (current / name / city_folder(self.city)).is_dir():
                _link_tree(current / name / city_folder(self.city), self.dataset(name))
        return self

    def abandon(self) -> None:
        shutil.rmtree(self.tree, ignore_errors=True)
        try:
            self.tree.parent.rmdir()  # the city's folder, empty now (its lock is still ours)
        except OSError:
            pass

    def commit(self) -> Path:
        """Publish the working tree's city folders with every other city's current files."""
        with exclusive(self.workspace.publishing_lock, f"commit of {self.run_id} ({self.city})"):
            current = current_snapshot(self.workspace)
            manifest = read_manifest(current)
            building = _building(self.workspace, _snapshot_name(manifest, self.run_id))
            building.mkdir(parents=True)
            mine = city_folder(self.city)
            if current is not None:
                for dataset in (p for p in current.iterdir() if p.is_dir()):
                    for part in (p for p in dataset.iterdir() if p.name != mine):
                        target = building / dataset.name / part.name
                        _link_tree(part, target) if part.is_dir() else os.link(part, target)
            for dataset in ds.PUBLISHED:
                (building / dataset).mkdir(exist_ok=True)
                os.replace(self.dataset(dataset), building / dataset / mine)
            (building / DICTIONARY_FILE).write_text(data_dictionary(), encoding="utf-8")
            files = self._manifest_files(manifest, current, building)
            sync_file_system(building)  # one barrier for every file this run wrote, not one fsync per file
            snapshot = _install(self.workspace, building, manifest, self.run_id, files)
            self.abandon()
            _forget_old_snapshots(self.workspace, snapshot)
        return snapshot

    def _manifest_files(self, manifest: dict, current: Path | None, building: Path) -> dict:
        """Entries of unchanged files carry over (same inode as published); new files are hashed."""
        previous = manifest[ds.MANIFEST_FILES]
        files = {}
        for path in sorted(p for p in building.rglob("*") if p.is_file()):
            rel = path.relative_to(building).as_posix()
            entry = previous.get(rel)
            if (entry is not None and current is not None and (current / rel).exists()
                    and os.stat(current / rel).st_ino == path.stat().st_ino):
                files[rel] = entry
            else:
                files[rel] = {ds.FILE_BYTES: path.stat().st_size, ds.FILE_SHA256: file_digest(path),
                              ds.FILE_RUN: self.run_id}
        return files


def _snapshot_name(manifest: dict, run_id: str) -> str:
    """The next snapshot's folder name: its version (one more than the current) and its run."""
    return f"{manifest[ds.MANIFEST_VERSION] + 1:06d}-{partition_value(run_id)}"


def _building(workspace: Workspace, name: str) -> Path:
    """Where a commit links snapshot `name` together (a crashed commit's leftovers removed)."""
    building = workspace.snapshots / BUILDING / name
    shutil.rmtree(building, ignore_errors=True)
    return building


def _install(workspace: Workspace, building: Path, manifest: dict, run_id: str, files: dict) -> Path:
    """Write the manifest of the linked-together snapshot, move it in place, switch `datasets`."""
    _write_json(building / ds.MANIFEST_FILE, {
        ds.MANIFEST_VERSION: manifest[ds.MANIFEST_VERSION] + 1, ds.MANIFEST_SNAPSHOT: building.name,
        ds.MANIFEST_COMMITTED_AT: datetime.now(UTC).isoformat(), ds.MANIFEST_RUN: run_id,
        ds.MANIFEST_FILES: files,
    })
    snapshot = workspace.snapshots / building.name
    os.replace(building, snapshot)
    _switch(workspace, snapshot)
    return snapshot


def _write_json(path: Path, value: dict) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())


def _switch(workspace: Workspace, snapshot: Path) -> None:
    """Point `datasets` at `snapshot` in one rename (readers see the old one or the new one)."""
    pointer = workspace.root / f".datasets-{os.getpid()}.link"
    pointer.unlink(missing_ok=True)
    pointer.symlink_to(snapshot.relative_to(workspace.root))
    os.replace(pointer, workspace.datasets)
    fsync_dir(workspace.root)


def _forget_old_snapshots(workspace: Workspace, keep: Path) -> None:
    snapshots = sorted(p for p in workspace.snapshots.iterdir() if p.is_dir() and not p.name.startswith("."))
    cutoff = time.time() - KEEP_SECONDS
    for old in snapshots[:-KEEP_SNAPSHOTS]:
        if old != keep and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def publishing(workspace: Workspace, city: str, run_id: str, holder: str) -> Iterator[CityTransaction]:
    """Hold the city's lock, give the run a working tree, commit it if the block succeeds."""
    with exclusive(workspace.city_lock(city), holder):
        transaction = CityTransaction(workspace, city, run_id).begin()
        try:
            yield transaction
        except BaseException:
            transaction.abandon()
            raise
        transaction.commit()


@dataclass(frozen=True)
class Finding:
    path: str
    problem: str
    run: str | None = None  # the run that wrote the file, whose inputs rebuild it


def verify(workspace: Workspace) -> list[Finding]:
    """Every published file against the manifest: missing, damaged and unknown files."""
    snapshot = current_snapshot(workspace)
    if snapshot is None:
        return []
    entries = read_manifest(snapshot)[ds.MANIFEST_FILES]
    findings = []
    present = {p.relative_to(snapshot).as_posix(): p for p in snapshot.rglob("*") if p.is_file()}
    for rel, entry in sorted(entries.items()):
        if rel not in present:
            findings.append(Finding(rel, "missing", entry.get(ds.FILE_RUN)))
            continue
        try:
            check_file(present[rel], entry, rel)
        except CorruptDatasetError:
            findings.append(Finding(rel, "checksum mismatch", entry.get(ds.FILE_RUN)))
    findings += [Finding(rel, "not in the manifest") for rel in sorted(present)
                 if rel not in entries and rel != ds.MANIFEST_FILE]
    return findings


def repair(workspace: Workspace) -> tuple[list[Finding], Path | None]:
    """Move every damaged or unknown file to `quarantine/` and commit a snapshot without them.

    Returns the findings and the quarantine folder; the caller tells the user which runs wrote
    the quarantined files (their inputs need re-ingesting).
    """
    findings = verify(workspace)
    if not findings:
        return [], None
    quarantine = workspace.root / "quarantine" / f"{datetime.now(UTC):%Y%m%dT%H%M%S}"
    with exclusive(workspace.publishing_lock, "datasets repair"):
        snapshot = current_snapshot(workspace)
        manifest = read_manifest(snapshot)
        building = _building(workspace, _snapshot_name(manifest, REPAIR_RUN))
        _link_tree(snapshot, building)
        files = dict(manifest[ds.MANIFEST_FILES])
        for finding in findings:
            files.pop(finding.path, None)
            if finding.problem == "missing":
                continue
            kept = quarantine / finding.path
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(building / finding.path, kept)
        _install(workspace, building, manifest, REPAIR_RUN, files)
    return findings, quarantine


def remove_published(workspace: Workspace) -> None:
    """Every snapshot and the `datasets` link gone (a benchmark's or a test's fresh start)."""
    with exclusive(workspace.publishing_lock, "removing the published datasets"):
        if workspace.datasets.is_symlink():
            workspace.datasets.unlink()
        shutil.rmtree(workspace.datasets, ignore_errors=True)
        shutil.rmtree(workspace.snapshots, ignore_errors=True)
