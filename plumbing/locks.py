"""Writers take turns: exclusive file locks, held by a process and gone when it dies.

Two batch ingests (or an ingest and the live publisher) merging into the same date partition at
once would each read the partition, add their rows and replace it: the later replace loses the
earlier run's rows. So a writer of a city holds `Workspace.city_lock` for its whole run, and a
commit holds `Workspace.publishing_lock` while it switches the snapshot (`plumbing.publishing`);
a second writer waits for the first and says so on the log (once), naming the holder. A live
stream does not wait (`at_once`): a second stream of the same kind and city is a mistake to report.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

LOG = logging.getLogger("urbanpulse")


@contextmanager
def exclusive(path: Path, holder: str) -> Iterator[None]:
    """Hold the lock at `path`, waiting for whoever holds it; `holder` says who we are."""
    with _locked(path, _wait_for_holder) as handle:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{holder} (pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ})\n")
        handle.flush()
        yield


@contextmanager
def at_once(path: Path, busy: Exception) -> Iterator[None]:
    """Hold the lock at `path`, or raise `busy` at once if another process holds it."""
    def refuse(_handle: TextIO) -> None:
        raise busy from None

    with _locked(path, refuse):
        yield


@contextmanager
def _locked(path: Path, when_held: Callable[[TextIO], None]) -> Iterator[TextIO]:
    """The lock file at `path`, open and locked by this process until the block ends;
    `when_held(handle)` runs if another process holds it (it waits for the lock, or raises)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            when_held(handle)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _wait_for_holder(handle: TextIO) -> None:
    handle.seek(0)
    LOG.warning("waiting for the datasets: %s holds %s", handle.read().strip() or "another process", handle.name)
    fcntl.flock(handle, fcntl.LOCK_EX)
