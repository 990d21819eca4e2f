"""How the feed reaches the live store (read-only, one connection per request) and how it says no."""

from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException

from plumbing.live_store.reader import LiveStoreReader


class FeedError(HTTPException):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)


def require_store(path: Path) -> None:
    if not path.exists():
        raise FeedError(503, f"no live data yet: start the stream (urbanpulse stream requests) to create {path}")


def open_store(path: Path) -> LiveStoreReader:
    require_store(path)
    return LiveStoreReader.open(path)
