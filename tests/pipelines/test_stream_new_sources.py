"""A source that lands after the stream started is followed too (regression: at f906a3d it was
never read: 90 s wait, 0 committed, while /health said "ok")."""

from __future__ import annotations

import threading
from pathlib import Path

from live_fixtures import committed_offsets, land_chunks, wait_until

from models.cities.pack import CityPack
from pipelines.stopping import STOP
from pipelines.stream_requests import LiveSettings, stream
from plumbing.landing import LandingLog
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import ledger
from synthetic.replayer import recent_requests


def test_a_source_landed_after_the_start_is_followed(tmp_path: Path, tiny_pack: CityPack) -> None:
    workspace = Workspace(tiny_pack.root.parents[1])
    store_path = workspace.live_store("tiny")
    records = recent_requests(tiny_pack, 1_000, seed=11)
    first = LandingLog(workspace.landing("tiny"), "city311").create("csv")
    land_chunks(first, records.slice(0, 500), 250, tmp_path)
    reports = []
    runner = threading.Thread(target=lambda: reports.append(stream(LiveSettings(workspace, "tiny",
                                                                               handover_seconds=0.5))))
    runner.start()
    try:
        assert wait_until(lambda: committed_offsets(store_path).get("city311") == first.end(), 60)
        later = LandingLog(workspace.landing("tiny"), "mobile-app").create("csv")
        land_chunks(later, records.slice(500), 250, tmp_path)
        assert wait_until(lambda: committed_offsets(store_path).get("mobile-app") == later.end(), 90), committed_offsets(store_path)
    finally:
        STOP.set()
        runner.join(timeout=60)
    assert not runner.is_alive() and reports
    store = LiveStoreReader.open(store_path)
    try:
        counts = store.ledger()
    finally:
        store.close()
    assert counts[ledger.RECORDS_IN] == records.height and ledger.balances(counts)
    assert sorted(reports[0].sources) == ["city311", "mobile-app"]
