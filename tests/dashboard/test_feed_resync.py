"""The change feed keeps a bounded history: a client further behind gets one `resync` event."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from conftest import build_tiny_pack
from feed_fixtures import feed_in_thread
from live_store_commits import START, window_commit

from plumbing.live_store.backend import remove_store
from plumbing.live_store.figures import WindowStats
from plumbing.live_store.writer import LiveStore
from plumbing.workspace import Workspace

KEPT = 5


def _commit_changes(store: LiveStore, count: int, first_seq: int = 0) -> None:
    for seq in range(first_seq, first_seq + count):
        store.commit(window_commit(seq, {("15m", START + seq, "N1", "noise"): WindowStats(new=1)}))


def _first_events(url: str, query: str, count: int) -> list[tuple[str, str, dict]]:
    """The first `count` events of /api/v1/stream as (id, event, data)."""
    events, fields = [], {}
    with httpx.stream("GET", f"{url}/api/v1/stream{query}", timeout=20) as response:
        for line in response.iter_lines():
            if not line:
                if "event" in fields:
                    events.append((fields["id"], fields["event"], json.loads(fields["data"])))
                    if len(events) == count:
                        return events
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
    return events


@pytest.fixture()
def city(tmp_path):
    build_tiny_pack(tmp_path)
    workspace = Workspace(tmp_path)
    store = LiveStore(workspace.live_store("tiny"), changes_kept=KEPT)
    _commit_changes(store, 12)  # ids 1..12; the store keeps 8..12
    yield workspace, store
    store.close()


@pytest.mark.usefixtures("live_backend")
def test_a_client_resuming_within_the_history_gets_every_change_after_it(city):
    workspace, _ = city
    with feed_in_thread(workspace) as url:
        events = _first_events(url, "?from=9", 3)
    assert [(i, e) for i, e, _ in events] == [("10", "change"), ("11", "change"), ("12", "change")]


@pytest.mark.usefixtures("live_backend")
def test_a_client_further_behind_gets_one_resync_then_the_new_changes(city):
    workspace, store = city
    with feed_in_thread(workspace) as url:
        stream_events = []
        reading = threading.Thread(target=lambda: stream_events.extend(_first_events(url, "?from=3", 2)))
        reading.start()
        reading.join(timeout=3)  # the resync comes at once; the change after it once committed
        _commit_changes(store, 1, first_seq=12)
        reading.join(timeout=20)
    (resync_id, kind, data), (change_id, next_kind, _) = stream_events
    assert (resync_id, kind, change_id, next_kind) == ("12", "resync", "13", "change")
    assert (data["reason"], data["asked_after"], data["oldest_kept"], data["latest"]) == ("behind", 3, 8, 12)
    assert "/api/v1/requests/windows" in data["detail"]


@pytest.mark.usefixtures("live_backend")
def test_an_id_from_before_a_rebuild_gets_a_resync(city):
    workspace, store = city
    path = workspace.live_store("tiny")
    store.close()
    remove_store(path)
    rebuilt = LiveStore(path, changes_kept=KEPT)
    _commit_changes(rebuilt, 2)
    with feed_in_thread(workspace) as url:
        [(resync_id, kind, data)] = _first_events(url, "?from=12", 1)
    rebuilt.close()
    assert (resync_id, kind, data["reason"], data["latest"]) == ("2", "resync", "rebuilt", 2)
