"""How `urbanpulse serve` runs the feed: uvicorn, with what a public, long-lived feed needs on top.

- `FeedProtocol` (uvicorn's h11 protocol): a request head beyond what it buffers gets a 414 or
  431 instead of a reset connection (it answers, then reads and drops the rest of the request
  for a moment, so the client gets to read the answer); a connection that takes nothing for
  `write_timeout` seconds while output waits is dropped (a client that stopped reading holds
  no stream and no buffers); and at shutdown a response still going gets a moment to finish.
- `FeedServer`: on Ctrl-C / SIGTERM the event streams end first (the hub closes), so nothing
  has to be cancelled, and the signal is not raised again afterwards: the command returns 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from http import HTTPStatus

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from dashboard.feed import create_app
from dashboard.limits import (
    HEADERS_TOO_LARGE,
    MAX_REQUEST_HEAD_BYTES,
    URI_TOO_LONG,
    FeedLimits,
    oversized_body,
)
from plumbing.workspace import Workspace

KEEP_ALIVE_SECONDS = 5  # an idle keep-alive connection is closed after this
GRACEFUL_SHUTDOWN_SECONDS = 5  # uvicorn cancels what still runs after this (should be nothing)
SHUTDOWN_GRACE_SECONDS = 1.0  # a response still going at shutdown: then its connection is dropped
LINGER_SECONDS = 5.0  # after refusing an oversized request head: read and drop its rest this long
LINGER_BYTES = 8 * 1024 * 1024  # ... or this much, whichever comes first
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class FeedConfig(uvicorn.Config):
    """uvicorn's configuration for the feed: its protocol and limits."""

    def __init__(self, app, limits: FeedLimits, host: str, port: int, **options) -> None:
        super().__init__(
            app, host=host, port=port, http=FeedProtocol, log_level=options.pop("log_level", "warning"),
            h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES, limit_concurrency=limits.max_connections,
            timeout_keep_alive=KEEP_ALIVE_SECONDS, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            **options,
        )
        self.limits = limits


class FeedProtocol(H11Protocol):
    config: FeedConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._stalled: asyncio.TimerHandle | None = None
        self._lingering: asyncio.TimerHandle | None = None
        self._dropped_bytes = 0
        self._lost = False

    def data_received(self, data: bytes) -> None:
        if self._lingering is None:
            super().data_received(data)
            return
        self._dropped_bytes += len(data)
        if self._dropped_bytes > LINGER_BYTES:
            self.transport.abort()

    def send_400_response(self, msg: str) -> None:
        buffered = self.conn.trailing_data[0]
        if len(buffered) <= MAX_REQUEST_HEAD_BYTES:
            super().send_400_response(msg)
            return
        status = HEADERS_TOO_LARGE if b"\r\n" in buffered else URI_TOO_LONG  # the request line ended?
        body = oversized_body(status)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        reason = HTTPStatus(status).phrase.encode()
        for event in (h11.Response(status_code=status, headers=headers, reason=reason), h11.Data(data=body),
                      h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.logger.warning("refused a request head of more than %s bytes with %s", MAX_REQUEST_HEAD_BYTES, status)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()  # the answer is complete; the client may still be sending
        self._lingering = self.loop.call_later(LINGER_SECONDS, self.transport.abort)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stalled is None:
            self._stalled = self.loop.call_later(self.config.limits.write_timeout, self._drop_stalled)

    def resume_writing(self) -> None:
        self._cancel_stalled()
        super().resume_writing()

    def _drop_stalled(self) -> None:
        self._stalled = None
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        self.logger.warning("dropping the connection of %s: it took nothing for %s s",
                            client, self.config.limits.write_timeout)
        self.transport.abort()

    def _cancel_stalled(self) -> None:
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def shutdown(self) -> None:
        super().shutdown()
        self.loop.call_later(SHUTDOWN_GRACE_SECONDS, self._drop_unfinished)

    def _drop_unfinished(self) -> None:
        """Still connected: a response going on, or output a client does not take (even once closed)."""
        if not self._lost:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._cancel_stalled()
        if self._lingering is not None:
            self._lingering.cancel()
        super().connection_lost(exc)


class FeedServer(uvicorn.Server):
    def __init__(self, config: FeedConfig, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets=None) -> None:
        self._on_shutdown()  # event streams end now rather than be cancelled at the timeout
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Ctrl-C / SIGTERM start the graceful shutdown (a second Ctrl-C forces it); unlike
        uvicorn's, the signal is not raised again once the server is down."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._stop) for sig in SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, sig: int, _frame) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def feed_server(workspace: Workspace, city: str, host: str = "127.0.0.1", port: int = 8000,
                limits: FeedLimits | None = None, **options) -> FeedServer:
    """The feed of `city` as a server, not started (`.run()` blocks; tests run it in a thread)."""
    limits = limits or FeedLimits()
    app = create_app(workspace, city, limits)
    return FeedServer(FeedConfig(app, limits, host, port, **options), on_shutdown=app.state.changes.close)


def serve(workspace: Workspace, city: str, host: str = "127.0.0.1", port: int = 8000,
          limits: FeedLimits | None = None) -> None:
    """Serve until Ctrl-C / SIGTERM, then end the event streams and return."""
    feed_server(workspace, city, host, port, limits).run()
