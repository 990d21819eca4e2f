"""What one feed server takes from its clients: request sizes, event streams, slow readers; and
how long a landed segment may wait for the stream before /health says the live path is behind.

A request line over `MAX_URL_BYTES` gets a 414 and header fields over `MAX_HEADER_BYTES` a 431,
each with a short JSON body. `RequestSizeLimit` answers those that reach the app; a request head
longer than `MAX_REQUEST_HEAD_BYTES` never does (uvicorn stops buffering it) and is answered by
the server's protocol (`dashboard.server.FeedProtocol`) with the same statuses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

URI_TOO_LONG, HEADERS_TOO_LARGE = 414, 431
MAX_URL_BYTES = 8 * 1024  # path and query string
MAX_HEADER_BYTES = 16 * 1024  # all header lines, names, values and separators
MAX_REQUEST_HEAD_BYTES = 32 * 1024  # what the server buffers of a request head at most (h11)
HEADER_LINE_OVERHEAD = len(b": \r\n")


@dataclass(frozen=True)
class FeedLimits:
    """Per server. Streams share one reader of the store; each holds a few chunks in flight."""

    max_streams: int = 100  # open event streams; one more gets a 503 with Retry-After
    retry_after_seconds: int = 5
    write_timeout: float = 30.0  # a connection that takes nothing for this long is dropped
    heartbeat_seconds: float = 15.0  # a comment line on a quiet stream (proxies, dead peers)
    max_stream_seconds: float = 3_600.0  # then the stream ends; clients resume with Last-Event-ID
    poll_seconds: float = 0.05  # how often the shared reader looks for new changes
    cache_bytes: int = 16 * 1024 * 1024  # encoded change events kept for every stream to share
    other_connections: int = 100  # besides the streams, before uvicorn answers 503 to everything
    lag_alarm_seconds: float = 60.0  # /health: a landed segment uncommitted this long -> 503 (`health`)

    @property
    def max_connections(self) -> int:
        return self.max_streams + self.other_connections


def oversized_body(status: int, size: int | None = None) -> bytes:
    """The short JSON body of a 414 or 431 (`size` when it is known)."""
    what, verb, limit = (("request line (path and query)", "is", MAX_URL_BYTES) if status == URI_TOO_LONG
                         else ("header fields", "are", MAX_HEADER_BYTES))
    measured = f"{size:,} bytes" if size is not None else "too large"
    detail = f"the {what} {verb} {measured}; the feed takes at most {limit:,} bytes: shorten the request"
    return json.dumps({"detail": detail}).encode()


def header_bytes(headers: list[tuple[bytes, bytes]]) -> int:
    return sum(len(name) + len(value) + HEADER_LINE_OVERHEAD for name, value in headers)


class RequestSizeLimit:
    """ASGI middleware: 414 for a request line over `MAX_URL_BYTES`, 431 for headers over `MAX_HEADER_BYTES`."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            path = scope.get("raw_path") or scope["path"].encode()
            url = len(path) + (len(scope["query_string"]) + 1 if scope["query_string"] else 0)
            headers = header_bytes(scope["headers"])
            if url > MAX_URL_BYTES:
                return await _refuse(send, URI_TOO_LONG, url)
            if headers > MAX_HEADER_BYTES:
                return await _refuse(send, HEADERS_TOO_LARGE, headers)
        await self.app(scope, receive, send)


async def _refuse(send, status: int, size: int) -> None:
    body = oversized_body(status, size)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})
