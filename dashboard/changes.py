"""The store's change feed for every event stream of one server: one reader, one poller, shared events.

Each open stream used to hold its own SQLite connection, poll it every 50 ms and keep a batch of
decoded changes per client; fifty clients that did not read cost a few MB each. Here one poller
watches the newest change id, and a change is read and encoded once, into a cache that every
stream sends from (keyed by the change id a client has, so clients resuming from the same point
share the same bytes too). The reader is opened with the first stream and closed, with the
cache, when the last one goes. Queries run in a worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from pathlib import Path

import anyio.to_thread

from dashboard.limits import FeedLimits
from plumbing.live_store.backend import STORE_ERRORS
from plumbing.live_store.reader import LiveStoreReader

STREAM_CACHE_KIB = 16 * 1024  # the shared reader's SQLite page cache
READ_AHEAD = 4  # changes read per query when a stream is behind
RETRY_SECONDS = 1.0  # after the store could not be read
logger = logging.getLogger(__name__)


def change_event(change_id: int, change: dict) -> bytes:
    return f"id: {change_id}\nevent: change\ndata: {json.dumps(change)}\n\n".encode()


def resync_event(latest: int, asked_after: int, oldest_kept: int | None, reason: str) -> bytes:
    """Sent instead of changes the store no longer has: reload the figures, then follow on."""
    detail = ("the live store was rebuilt: its change ids started again" if reason == "rebuilt" else
              f"changes after {asked_after} are no longer kept (the oldest kept is {oldest_kept})")
    payload = {"reason": reason, "asked_after": asked_after, "oldest_kept": oldest_kept, "latest": latest,
               "reload": "/api/v1/requests/windows",
               "detail": f"{detail}: reload the figures from /api/v1/requests/windows, then apply the "
                         f"changes that follow this event (it carries id {latest})"}
    return f"id: {latest}\nevent: resync\ndata: {json.dumps(payload)}\n\n".encode()


def _read_events(reader: LiveStoreReader, after: int) -> list[tuple[int, bytes]]:
    return [(change_id, change_event(change_id, change)) for change_id, change in reader.changes_after(after, READ_AHEAD)]


class ChangeHub:
    """Open streams, the newest change id, and the encoded events after each id streams asked for."""

    def __init__(self, store_path: Path, limits: FeedLimits) -> None:
        self.store_path, self.limits = store_path, limits
        self.streams = 0
        self.closed = False
        self.head = 0  # newest change id the poller saw
        self._next: OrderedDict[int, tuple[int, bytes]] = OrderedDict()  # after id -> (id, event)
        self._cached_bytes = 0
        self._changed = asyncio.Event()  # replaced by a fresh one on every change
        self._wanted = asyncio.Event()  # some stream is open (or the hub closes)
        self._lock = asyncio.Lock()
        self._reader: LiveStoreReader | None = None
        self._poller: asyncio.Task | None = None

    # ------------------------------------------------------------------ streams
    def open_stream(self) -> bool:
        """Count one more stream; False when the server is full or shutting down."""
        if self.closed or self.streams >= self.limits.max_streams:
            return False
        self.streams += 1
        self._wanted.set()
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll(), name="feed-change-poller")
        return True

    def close_stream(self) -> None:
        self.streams -= 1

    def close(self) -> None:
        """The server shuts down: every stream ends after the event it is sending."""
        self.closed = True
        self._wanted.set()
        self._notify()

    # ------------------------------------------------------------------ events
    async def latest(self) -> int:
        return await self._query(LiveStoreReader.last_change_id)

    async def kept(self) -> tuple[int | None, int]:
        """The oldest change the store still keeps (None: none yet) and the newest."""
        return await self._query(lambda reader: (reader.first_change_id(), reader.last_change_id()))

    async def next_after(self, after: int) -> tuple[int, bytes] | None:
        """The first change after `after` as (id, encoded event), None when there is none yet."""
        found = self._cached(after)
        if found is not None or after >= self.head:
            return found
        async with self._lock:  # another stream may be reading the same change right now
            found = self._cached(after)
            if found is not None:
                return found
            events = await self._run(_read_events, after)
        if not events:  # the store lost changes the poller saw (rebuilt): wait for its next look
            self.head = after
            return None
        self._remember(after, events)
        return events[0]

    async def wait_for_change(self, after: int, timeout: float) -> bool:
        """True when there is a change after `after` (or the hub closed), False after `timeout`."""
        changed = self._changed
        if self.head > after or self.closed:
            return True
        try:
            async with asyncio.timeout(timeout):
                await changed.wait()
        except TimeoutError:
            return False
        return True

    def _cached(self, after: int) -> tuple[int, bytes] | None:
        found = self._next.get(after)
        if found is not None:
            self._next.move_to_end(after)
        return found

    def _remember(self, after: int, events: list[tuple[int, bytes]]) -> None:
        for change_id, event in events:
            previous = self._next.pop(after, None)
            self._cached_bytes += len(event) - (len(previous[1]) if previous else 0)
            self._next[after] = (change_id, event)
            after = change_id
        while self._cached_bytes > self.limits.cache_bytes and len(self._next) > 1:
            _, (_, dropped) = self._next.popitem(last=False)
            self._cached_bytes -= len(dropped)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ the store
    async def _poll(self) -> None:
        """Watch the newest change id while streams are open; release the store when none are."""
        try:
            while not self.closed:
                if not self.streams:
                    await self._release()
                    if not self.streams and not self.closed:  # none opened meanwhile
                        self._wanted.clear()
                        await self._wanted.wait()
                    continue
                try:
                    head = await self.latest()
                except (*STORE_ERRORS, OSError) as error:
                    logger.warning("cannot read the live store %s (%s): trying again", self.store_path, error)
                    await self._release()
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                if head != self.head:
                    if head < self.head:  # the store was rebuilt: its change ids start again
                        self._forget()
                    self.head = head
                    self._notify()
                await asyncio.sleep(self.limits.poll_seconds)
        finally:
            await self._release()

    async def _query(self, query, *args):
        async with self._lock:
            return await self._run(query, *args)

    async def _run(self, query, *args):
        """`query(reader, *args)` in a worker thread (the caller holds the lock)."""
        if self._reader is None:
            self._reader = LiveStoreReader.open(self.store_path, cache_kib=STREAM_CACHE_KIB)
        return await anyio.to_thread.run_sync(query, self._reader, *args)

    async def _release(self) -> None:
        async with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        self._forget()

    def _forget(self) -> None:
        self._next.clear()
        self._cached_bytes = 0
