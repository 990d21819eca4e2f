"""How the feed reaches the live store (read-only, one connection per request) and how it says no."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import HTTPException

from plumbing.live_store.backend import describe, store_exists
from plumbing.live_store.reader import LiveStoreReader


class FeedError(HTTPException):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)


def require_store(path: Path) -> None:
    if not store_exists(path):
        raise FeedError(503, f"no live data yet: start the stream (urbanpulse stream requests) to create "
                             f"{describe(path)}")


def open_store(path: Path) -> LiveStoreReader:
    require_store(path)
    return LiveStoreReader.open(path)


@contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection for one request, or None when there is no live store yet (the
    participation and sensor routes answer that with empty lists or 404s, not a 503)."""
    if not store_exists(path):
        yield None
        return
    reader = LiveStoreReader.open(path)
    try:
        yield reader.db
    finally:
        reader.close()
