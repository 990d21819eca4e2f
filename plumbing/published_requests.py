"""One city's published requests (the scrubbed Parquet dataset), read once per file version.

The feed answers every request from memory: the rows of `datasets/requests/city=<c>/` are read
with polars, one frame per partition file, and a file is read again only when the snapshot it
comes from holds another version of it (a new inode, size or time: an unchanged file is a hard
link of the same inode in every snapshot, `plumbing.publishing`). A live hand-over rewrites a
day's file or two, so following the stream costs a few thousand rows per commit, not the city.

Files are read from the snapshot `datasets` points at when the read starts (one readlink),
never across a switch, so a frame never mixes two snapshots (old snapshots stay a while after
a switch, `publishing.KEEP_SECONDS`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from plumbing.paths import city_folder
from plumbing.publishing import read_manifest
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import requests as rq

# What the feed reads of a published request (the text columns are already scrubbed).
COLUMNS = (
    rq.SERVICE_REQUEST_ID, rq.STATUS, rq.REQUESTED_DATETIME, rq.UPDATED_DATETIME, rq.CLOSED_DATETIME,
    rq.CATEGORY, rq.DEPARTMENT, rq.DISTRICT_ID, rq.DISTRICT_NAME, rq.DESCRIPTION, rq.ADDRESS, rq.LAT,
    rq.LONG, rq.H3_CELL, rq.SLA_DUE_DATETIME, rq.HOURS_TO_CLOSE, rq.CLOSED_WITHIN_SLA, rq.DUPLICATE_OF,
    rq.REPORT_CLUSTER_ID,
)
_ENRICHED = pl.from_arrow(rq.ENRICHED_REQUEST.empty_table()).schema
SCHEMA = pl.Schema({name: _ENRICHED[name] for name in (*COLUMNS, rq.REQUEST_DATE)})


@dataclass(frozen=True)
class PublishedFrame:
    """The city's published rows and what identifies them (`snapshot` name, manifest commit time)."""

    rows: pl.DataFrame
    snapshot: str | None
    committed_at: str | None


def empty_published() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def _partition_day(folder: str) -> date | None:
    prefix = f"{rq.REQUEST_PARTITION}="
    if not folder.startswith(prefix):
        return None
    try:
        return date.fromisoformat(folder[len(prefix):])
    except ValueError:
        return None


FileVersion = tuple[int, int, int]


def file_version(path: Path) -> FileVersion:
    """What tells a published file's rows apart from an earlier version's: an unchanged file is a
    hard link of the same inode in every snapshot, a rewritten one a new file."""
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _read_file(path: Path, day: date) -> pl.DataFrame:
    """A partition's rows; one written before `report_cluster_id` existed reads with it filled."""
    frame = pl.scan_parquet(path, schema=pl.Schema({name: _ENRICHED[name] for name in COLUMNS}),
                            missing_columns="insert", extra_columns="ignore").collect()
    return frame.with_columns(
        pl.coalesce(rq.REPORT_CLUSTER_ID, rq.DUPLICATE_OF, rq.SERVICE_REQUEST_ID).alias(rq.REPORT_CLUSTER_ID),
        pl.lit(day, pl.Date).alias(rq.REQUEST_DATE),
    ).cast(SCHEMA).select(SCHEMA.names())


class PublishedRequests:
    """A reader of one city's published requests that keeps each partition file's frame.

    `prepare` (if given) turns each file's rows into what the caller keeps (derived columns
    computed once per file version, not once per snapshot for the whole city)."""

    def __init__(self, workspace: Workspace, city: str,
                 prepare: Callable[[pl.DataFrame], pl.DataFrame] | None = None) -> None:
        self.workspace, self.city = workspace, city
        self._prepare = prepare or (lambda frame: frame)
        self._files: dict[str, tuple[FileVersion, pl.DataFrame]] = {}
        self._current: PublishedFrame | None = None
        self._lock = threading.Lock()

    def snapshot_name(self) -> str | None:
        """Which snapshot `datasets` points at now (one readlink: cheap enough for every request)."""
        try:
            return os.readlink(self.workspace.datasets)
        except OSError:
            return None

    def current(self) -> PublishedFrame:
        """The rows of the current snapshot (read again only when `datasets` switched)."""
        name = self.snapshot_name()
        found = self._current
        if found is not None and found.snapshot == name:
            return found
        with self._lock:
            if self._current is None or self._current.snapshot != name:
                self._current = self._read(name)
            return self._current

    def _read(self, name: str | None) -> PublishedFrame:
        if name is None:
            return PublishedFrame(empty_published(), None, None)
        snapshot = (self.workspace.datasets.parent / name).resolve()
        folder = snapshot / ds.REQUESTS / city_folder(self.city)
        files: dict[str, tuple[FileVersion, pl.DataFrame]] = {}
        for part in sorted(folder.glob("*/*.parquet")) if folder.is_dir() else ():
            day = _partition_day(part.parent.name)
            if day is None:
                continue
            version = file_version(part)
            key = f"{part.parent.name}/{part.name}"
            kept = self._files.get(key)
            if kept is None or kept[0] != version:
                kept = (version, self._prepare(_read_file(part, day)))
            files[key] = kept
        self._files = files
        frames = [frame for _, frame in files.values() if frame.height]
        rows = pl.concat(frames, rechunk=False) if frames else self._prepare(empty_published())
        manifest = read_manifest(snapshot)
        return PublishedFrame(rows, name, manifest.get(ds.MANIFEST_COMMITTED_AT))
