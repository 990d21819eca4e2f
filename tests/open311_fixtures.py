"""Building blocks of the Open311 tests: the tiny city with service attributes, its stream running in
a thread beside the feed server (over real HTTP), and API keys for it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from conftest import build_tiny_pack
from feed_fixtures import CITY, feed_in_thread, wait_until
from live_fixtures import committed_offsets, land_chunks

from pipelines.stopping import STOP
from pipelines.stream_requests import LiveSettings, stream
from plumbing.api_keys import KeyStore
from plumbing.landing import LandingLog
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import live as lv
from schemas import open311 as o3
from synthetic.replayer import recent_requests

ATTRIBUTES = {"road_damage": [
    {"code": "size", "datatype": "singlevaluelist", "required": True, "description": "How large is it?",
     "values": [{"key": "small", "name": "Small"}, {"key": "large", "name": "Large"}]},
    {"code": "depth_cm", "datatype": "number", "required": False, "description": "Depth in cm"},
]}
IN_N1 = {"lat": "55.15", "long": "37.05"}  # inside district N1 of the tiny city


@dataclass
class Open311Home:
    workspace: Workspace
    url: str  # the Open311 root
    key: str  # a reporter's key
    back_office: str  # a back-office key
    slow: str  # a key of 2 reports a minute

    def post(self, path: str, **fields) -> httpx.Response:
        return httpx.post(f"{self.url}/{path}", data=fields, timeout=30)

    def get(self, path: str, **params) -> httpx.Response:
        return httpx.get(f"{self.url}/{path}", params=params, timeout=30)


@contextmanager
def open311_home(home: Path, feeds: Path, landed: int = 400) -> Iterator[Open311Home]:
    """The tiny city, `landed` recent requests streamed, the stream still running, the server up."""
    pack = build_tiny_pack(home)
    (pack.root / o3.PACK_ATTRIBUTES_FILE).write_text(json.dumps(ATTRIBUTES), encoding="utf-8")
    workspace = Workspace(home)
    log = LandingLog(workspace.landing(CITY), "city311").create("csv")
    land_chunks(log, recent_requests(pack, landed, seed=5), 200, feeds)
    LandingLog(workspace.landing(CITY), o3.SOURCE).create()  # followed from the start: no restart
    keys = KeyStore.of(workspace)
    _, key = keys.create("citizen-app")
    _, back_office = keys.create("back-office", role=o3.ROLE_BACK_OFFICE)
    _, slow = keys.create("slow-app", rate_per_minute=2)
    keys.close()
    settings = LiveSettings(workspace, CITY, lateness=timedelta(days=14), handover_seconds=1.0)
    runner = threading.Thread(target=stream, args=(settings,), daemon=True)
    runner.start()
    store = workspace.live_store(CITY)
    try:
        wait_until(lambda: committed_offsets(store).get("city311") == log.end(), 120, "the stream did not start")
        wait_until(lambda: _views_complete(store), 60, "the stream did not write the Open311 view")
        with feed_in_thread(workspace) as url:
            yield Open311Home(workspace, f"{url}{o3.ROOT}", key, back_office, slow)
    finally:
        STOP.set()
        runner.join(timeout=60)


def _views_complete(store: Path) -> bool:
    """Every kept request also has its Open311 view (written a step after the windows commit)."""
    reader = LiveStoreReader.open(store)
    try:
        kept, viewed = reader.db.execute(
            f"SELECT (SELECT count(*) FROM {lv.REQUESTS_TABLE.name}), (SELECT count(*) FROM "
            f"{lv.OPEN311_REQUESTS_TABLE.name})").fetchone()
    finally:
        reader.close()
    return kept == viewed > 0
