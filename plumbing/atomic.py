"""Atomic file publication: a reader sees the previous file or the new one, never half of one."""

from __future__ import annotations

import ctypes
import os
import uuid
from collections.abc import Collection
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

STAGING = ".staging"
PART_FILE = "part-0.parquet"
COMPRESSION = "zstd"


def staging_dir(dataset: Path) -> Path:
    """Beside the dataset folders (same file system, so renames are atomic; never scanned)."""
    return dataset.parent / STAGING


def sync_file_system(path: Path) -> None:
    """Make every write to the file system holding `path` durable: `syncfs(2)`, not `sync(2)`.

    A commit needs one barrier for the thousands of files a run wrote; `os.sync()` would also wait
    for every other disk's dirty pages (another city's backfill on another volume). Python has no
    `os.syncfs`, so it is called from libc; where libc has none (not Linux), `os.sync()`.
    """
    handle = os.open(path, os.O_RDONLY)
    try:
        if _libc_syncfs is None or _libc_syncfs(handle) != 0:
            os.sync()
    finally:
        os.close(handle)


def _find_syncfs():
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


_libc_syncfs = _find_syncfs()


def fsync_dir(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_atomic(table: pa.Table, target: Path, dataset: Path, sync: bool = True,
                 plain: Collection[str] = ()) -> None:
    """Write `table` as Parquet to `target` (a file inside `dataset`): temp file, fsync, rename.

    `sync=False` leaves durability to the caller: a publishing transaction writes hundreds of
    files out of sight and syncs them all at once before it commits. `plain` names columns whose
    values are (nearly) unique per row, such as ids and free text: a dictionary only costs there
    (a day of requests: 40% faster to write and 16% smaller without one on those columns).
    """
    staging = staging_dir(dataset)
    staging.mkdir(parents=True, exist_ok=True)
    temporary = staging / f"{uuid.uuid4().hex}.parquet.tmp"
    dictionary = [name for name in table.column_names if name not in plain] if plain else True
    pq.write_table(table, temporary, compression=COMPRESSION, use_dictionary=dictionary)
    if sync:
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temporary, target)
    if sync:
        fsync_dir(target.parent)
