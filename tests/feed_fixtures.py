"""Building blocks of the feed tests: a live store built by the live pipeline, feed servers over
real HTTP (in a thread, or `urbanpulse serve` in its own process), raw clients that do not read."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import polars as pl
from conftest import build_tiny_pack
from live_fixtures import land_chunks, urbanpulse

from dashboard.limits import FeedLimits
from dashboard.server import feed_server
from pipelines.stream_requests import LiveSettings, replay
from plumbing.landing import LandingLog
from plumbing.workspace import Workspace
from synthetic.replayer import recent_requests

CITY = "tiny"
SMALL_RECEIVE_BUFFER = 4096  # a client that does not read fills this at once
# the segment size of an Ethernet path: without it, loopback's 64 KB segments let the server's
# kernel buffer a megabyte or more for a client that reads nothing
ETHERNET_SEGMENT = 1460


@dataclass
class FeedHome:
    workspace: Workspace
    settings: LiveSettings
    log: LandingLog
    more: pl.DataFrame  # generated records not landed yet
    feeds: Path


def feed_home(home: Path, feeds: Path, landed: int = 2_500, more: int = 500, chunk: int = 500) -> FeedHome:
    """The tiny city with `landed` recent requests streamed into its live store (`landed / chunk` changes)."""
    pack = build_tiny_pack(home)
    workspace = Workspace(home)
    records = recent_requests(pack, landed + more, seed=11)
    log = LandingLog(workspace.landing(CITY), "city311").create("csv")
    land_chunks(log, records.head(landed), chunk, feeds)
    settings = LiveSettings(workspace, CITY, lateness=timedelta(days=14))
    replay(settings)
    return FeedHome(workspace, settings, log, records.tail(more), feeds)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def feed_in_thread(workspace: Workspace, limits: FeedLimits | None = None) -> Iterator[str]:
    """The feed as `urbanpulse serve` configures it, in a thread of this process; yields its URL."""
    port = free_port()
    server = feed_server(workspace, CITY, "127.0.0.1", port, limits)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def feed_process(home: Path, *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """`urbanpulse serve` in its own process; yields its URL and the process."""
    port = free_port()
    process = urbanpulse(home, "serve", "--city", CITY, "--port", str(port), *options)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(url), 60, f"{url}/health did not answer")
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(check, seconds: float, message: str = "") -> bool:
    """Poll `check` until true; False (or AssertionError with `message`) after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    if message:
        raise AssertionError(message)
    return False


def open_streams(url: str) -> int:
    """Event streams the server says are open (-1 when it does not say)."""
    return httpx.get(f"{url}/health", timeout=10).json().get("streams", {}).get("open", -1)


def unread_stream(url: str, query: str = "") -> socket.socket:
    """A GET /api/v1/stream from a client with a tiny receive buffer that never reads."""
    host, port = url.removeprefix("http://").split(":")
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RECEIVE_BUFFER)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, ETHERNET_SEGMENT)
    client.connect((host, int(port)))
    target = f"/api/v1/stream{'?' + query if query else ''}"
    client.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    return client


def raw_get(url: str, target: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET over a plain socket (httpx refuses URLs over 64 KB): status and body of the answer.

    Raises ConnectionError when the server resets the connection instead of answering.
    """
    host, port = url.removeprefix("http://").split(":")
    lines = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    with socket.create_connection((host, int(port)), timeout=30) as client:
        client.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{lines}\r\n".encode())
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body
