"""`GET /api/v1/stream`: server-sent events, one `change` per committed change of the live store.

Every stream is bounded: at most `FeedLimits.max_streams` at once (then a 503 with Retry-After),
a heartbeat comment when quiet, an end after `max_stream_seconds` (clients resume with
Last-Event-ID), and events sent in small chunks from the shared `ChangeHub`, so a client that
does not read holds at most the transport's buffer; one that reads nothing for
`write_timeout` is dropped by the server (`dashboard.server.FeedProtocol`). The stream's slot is
taken and given back inside the response itself, whatever ends it.

The store keeps the last `LiveStore.changes_kept` changes. A client that resumes from (or falls
behind to) a change older than those, or from an id of a store since rebuilt, gets one `resync`
event (what happened, where to reload the figures, the newest id) and the changes after it.
"""

from __future__ import annotations

import time

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from dashboard.changes import ChangeHub, resync_event
from dashboard.store import FeedError, require_store

MAX_CHANGE_ID = 2**63 - 1  # change ids are SQLite integers
RETRY = b"retry: 1000\n\n"  # EventSource clients reconnect after 1 s
HEARTBEAT = b": still here\n\n"
CHUNK_BYTES = 16 * 1024  # a large change goes out in pieces: a stalled client holds one piece
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def stream_router(hub: ChangeHub) -> APIRouter:
    router = APIRouter()

    @router.get("/stream", response_class=Response)
    async def stream(
        request: Request,
        last_event_id: int | None = Query(None, alias="from", ge=0, le=MAX_CHANGE_ID,
                                          description="resume after this change id"),
    ) -> Response:
        """Server-sent events: one `change` event per commit of the stream (windows it changed)."""
        header = request.headers.get("last-event-id")
        if last_event_id is None and header and header.isdigit() and int(header) > MAX_CHANGE_ID:
            raise FeedError(400, f"Last-Event-ID {header[:30]} is not a change id (at most {MAX_CHANGE_ID})")
        require_store(hub.store_path)
        after = last_event_id if last_event_id is not None else (int(header) if header and header.isdigit() else None)
        return EventStream(hub, after)

    return router


class EventStream(Response):
    """The event stream of one client, from change `after` (None: from the newest one)."""

    media_type = "text/event-stream"

    def __init__(self, hub: ChangeHub, after: int | None) -> None:
        super().__init__(headers=HEADERS, media_type=self.media_type)
        del self.headers["content-length"]
        self.hub, self.after = hub, after

    async def __call__(self, scope, receive, send) -> None:
        if not self.hub.open_stream():
            await _busy(self.hub)(scope, receive, send)
            return
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(_until_disconnected, receive, group.cancel_scope)
                await self._events(send)
                group.cancel_scope.cancel()
        finally:
            self.hub.close_stream()

    async def _events(self, send) -> None:
        """Changes as they come, heartbeats between; then the end of the response."""
        hub, limits = self.hub, self.hub.limits
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await _send(send, RETRY)
        after = self.after if self.after is not None else await hub.latest()
        if self.after is not None:
            oldest, latest = await hub.kept()
            if after > latest or (oldest is not None and oldest > after + 1):
                after = await _resync(send, latest, after, oldest, "rebuilt" if after > latest else "behind")
        ends = time.monotonic() + limits.max_stream_seconds
        while not hub.closed and (left := ends - time.monotonic()) > 0:
            event = await hub.next_after(after)
            if event is not None and event[0] > after + 1:  # change ids are dense: these were dropped
                oldest, latest = await hub.kept()
                after = await _resync(send, latest, after, oldest, "behind")
            elif event is not None:
                after = event[0]
                await _send(send, event[1])
            elif not await hub.wait_for_change(after, min(limits.heartbeat_seconds, left)):
                await _send(send, HEARTBEAT)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _resync(send, latest: int, after: int, oldest: int | None, reason: str) -> int:
    """Tell the client to reload (`dashboard.changes.resync_event`); the stream goes on from `latest`."""
    await _send(send, resync_event(latest, after, oldest, reason))
    return latest


async def _send(send, data: bytes) -> None:
    for start in range(0, len(data), CHUNK_BYTES):
        await send({"type": "http.response.body", "body": data[start:start + CHUNK_BYTES], "more_body": True})


async def _until_disconnected(receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


def _busy(hub: ChangeHub) -> JSONResponse:
    limits = hub.limits
    detail = ("the feed is shutting down: reconnect in a moment" if hub.closed else
              f"all {limits.max_streams} event streams of this server are open: retry in "
              f"{limits.retry_after_seconds} s (with Last-Event-ID to resume)")
    return JSONResponse({"detail": detail}, status_code=503,
                        headers={"Retry-After": str(limits.retry_after_seconds)})
