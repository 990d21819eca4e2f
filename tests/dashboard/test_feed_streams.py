"""Event streams over real HTTP: bounded memory and count, slow readers dropped, clean shutdown.

`urbanpulse serve` runs in its own process where its memory or its exit is measured; the rest
run the same server (`dashboard.server.feed_server`) in a thread with short limits.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from dataclasses import dataclass, field

import httpx
import psutil
import pytest
from feed_fixtures import (
    FeedHome,
    feed_home,
    feed_in_thread,
    feed_process,
    open_streams,
    unread_stream,
    wait_until,
)

from dashboard.limits import FeedLimits
from plumbing.live_store.reader import LiveStoreReader

STREAMS = 50
MB = 1024 * 1024
GROWTH_BOUND = 30 * MB  # 50 clients reading nothing of the whole history (before: about 2.5 MB each)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> FeedHome:
    # 5,000 requests in 10 changes: more history than a client's and the server's buffers hold
    return feed_home(tmp_path_factory.mktemp("streams-home"), tmp_path_factory.mktemp("feeds"),
                     landed=5_000, more=0)


@pytest.fixture(scope="module")
def served(home):
    with feed_process(home.workspace.root, "--max-streams", str(STREAMS)) as (url, process):
        yield url, psutil.Process(process.pid)


@dataclass
class Received:
    ids: list[int] = field(default_factory=list)
    heartbeats: int = 0
    seconds: float = 0.0


def read_stream(url: str, timeout: float = 10, **request) -> Received:
    """Everything one stream sends until the server ends it."""
    received, started = Received(), time.monotonic()
    with httpx.stream("GET", f"{url}/api/v1/stream", timeout=timeout, **request) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("id: "):
                received.ids.append(int(line[4:]))
            received.heartbeats += line.startswith(": ")
    received.seconds = time.monotonic() - started
    return received


def store_files(server: psutil.Process, home: FeedHome) -> list[str]:
    store = str(home.workspace.live_store("tiny"))
    return [f.path for f in server.open_files() if f.path.startswith(store)]


def test_unread_streams_keep_the_server_small_and_are_released(served, home):
    url, server = served
    with httpx.stream("GET", f"{url}/api/v1/stream", params={"from": 0}, timeout=10) as warm_up:
        next(warm_up.iter_lines())  # the first stream loads what every stream needs
    wait_until(lambda: open_streams(url) == 0, 10)
    before = server.memory_info().rss
    clients = [unread_stream(url, "from=0") for _ in range(STREAMS)]
    try:
        wait_until(lambda: open_streams(url) == STREAMS, 20)
        time.sleep(3)  # every stream sends what the buffers take, then waits
        during, files_during = server.memory_info().rss, store_files(server, home)
    finally:
        for client in clients:
            client.close()
    released = wait_until(lambda: open_streams(url) == 0 and not store_files(server, home), 15)
    after = server.memory_info().rss
    print(f"server RSS: {before / MB:.0f} MB, with {STREAMS} unread streams {during / MB:.0f} MB, "
          f"after they went {after / MB:.0f} MB; store files open during: {len(files_during)}")
    assert during - before < GROWTH_BOUND
    # one connection for all streams (database, WAL, shared memory; SQLite may hold a closed
    # connection's database descriptor a while); before: two per stream
    assert len(files_during) <= 6
    assert released, "streams or their store connection still open after the clients went"
    assert after - before < GROWTH_BOUND


def test_streams_beyond_the_cap_get_a_503_with_retry_after(served):
    url, _ = served
    clients = [unread_stream(url) for _ in range(STREAMS)]
    try:
        wait_until(lambda: open_streams(url) == STREAMS, 20)
        with httpx.stream("GET", f"{url}/api/v1/stream", timeout=10) as refused:
            assert refused.status_code == 503
            assert int(refused.headers["retry-after"]) > 0
            assert f"all {STREAMS} event streams" in refused.read().decode()
        clients.pop().close()
        wait_until(lambda: open_streams(url) == STREAMS - 1, 10, "a closed stream was not given back")
        with httpx.stream("GET", f"{url}/api/v1/stream", timeout=10) as again:
            assert again.status_code == 200
    finally:
        for client in clients:
            client.close()


def test_a_client_that_stops_reading_is_dropped(home):
    with feed_in_thread(home.workspace, FeedLimits(write_timeout=1.0)) as url:
        client = unread_stream(url, "from=0")
        try:
            started = time.monotonic()
            time.sleep(3)  # reads nothing while the server fills the buffers, then times out
            closed = _read_to_the_end(client)
            took = time.monotonic() - started
        finally:
            client.close()
        assert closed, "the server kept the stalled stream open"
        assert took < 8 and wait_until(lambda: open_streams(url) == 0, 10)


def _read_to_the_end(client: socket.socket) -> bool:
    """True when the server closed (or reset) the connection, False when it kept it open
    (nothing more for 5 s, once the history it had to send was read)."""
    client.settimeout(5)
    try:
        while client.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def test_a_stream_ends_after_its_max_age_and_resumes_where_it_was(home):
    store = LiveStoreReader.open(home.workspace.live_store("tiny"))
    try:
        history = [change_id for change_id, _ in store.changes_after(0, limit=1_000)]
    finally:
        store.close()
    with feed_in_thread(home.workspace, FeedLimits(max_stream_seconds=1.5, heartbeat_seconds=0.3)) as url:
        first = read_stream(url, params={"from": 0})
        second = read_stream(url, headers={"Last-Event-ID": str(first.ids[-1])})
    assert first.ids == history and len(history) == 10
    assert 1.4 < first.seconds < 6 and first.heartbeats >= 1
    assert second.ids == [] and second.heartbeats >= 1


@pytest.mark.parametrize("stop, reading", [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["SIGINT-reading-client", "SIGTERM-client-not-reading"])
def test_stopping_the_server_with_an_open_stream_is_clean(home, stop, reading):
    """Before: a CancelledError traceback after the 3 s graceful timeout."""
    outcome: list[str] = []
    with feed_process(home.workspace.root) as (url, process):
        if reading:
            listener = threading.Thread(target=_listen, args=(url, outcome), daemon=True)
            listener.start()
        else:
            client = unread_stream(url, "from=0")
        wait_until(lambda: open_streams(url) == 1, 10)
        time.sleep(0.5)
        started = time.monotonic()
        process.send_signal(stop)
        code = process.wait(timeout=30)
        took = time.monotonic() - started
        output = process.stdout.read()
    if reading:
        listener.join(timeout=10)
    else:
        client.close()
    print(f"{stop.name}: exit {code} after {took:.2f} s")
    assert code in (0, 130) and took < 4, output
    assert "Traceback" not in output and "CancelledError" not in output, output
    assert outcome == (["ended"] if reading else [])


def _listen(url: str, outcome: list[str]) -> None:
    try:
        with httpx.stream("GET", f"{url}/api/v1/stream", timeout=30) as response:
            for _line in response.iter_lines():
                pass
        outcome.append("ended")
    except httpx.HTTPError as error:
        outcome.append(f"broke: {error!r}")
