"""Each city has its own landing logs: two cities' sources of the same name stay apart, and a
stream of one city never reads another city's segments (regression: one `landing/` per home)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from live_fixtures import committed_offsets, land_chunks, wait_until

from models.cities.pack import CityPack
from pipelines.stopping import STOP
from pipelines.stream_requests import LiveSettings, stream
from plumbing.landing import LandingLog, landed_ends
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import ledger
from synthetic.replayer import recent_requests

OTHER = "other-city"


def test_two_cities_sources_of_the_same_name_are_two_logs(tmp_path: Path, tiny_pack: CityPack) -> None:
    workspace = Workspace(tmp_path)
    records = recent_requests(tiny_pack, 500, seed=5)
    ours = LandingLog(workspace.landing("tiny"), "city311").create("csv")
    theirs = LandingLog(workspace.landing(OTHER), "city311").create("csv")
    land_chunks(ours, records.head(200), 100, tmp_path)
    land_chunks(theirs, records.tail(300), 100, tmp_path)
    assert ours.root != theirs.root
    assert landed_ends(workspace.landing("tiny")) == {"city311": 2}
    assert landed_ends(workspace.landing(OTHER)) == {"city311": 3}
    assert sum(ours.rows(s) for s in range(ours.end())) == 200


def test_a_city_name_is_one_folder_under_landing(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    for name in ("../../escaped", "..", "a/b", ""):
        folder = workspace.landing(name)
        assert folder.parent == tmp_path / "landing" and folder.name not in ("", ".", "..")
    assert len({workspace.landing(n) for n in ("a/b", "a%2Fb", "a")}) == 3  # distinct names, distinct logs


def test_a_stream_reads_only_its_citys_landing_logs(tmp_path: Path, tiny_pack: CityPack) -> None:
    workspace = Workspace(tiny_pack.root.parents[1])
    records = recent_requests(tiny_pack, 1_200, seed=13)
    ours = LandingLog(workspace.landing("tiny"), "city311").create("csv")
    land_chunks(ours, records.slice(0, 400), 200, tmp_path / "ours")
    # another city: the same source name with more segments, and a source the tiny city lacks
    land_chunks(LandingLog(workspace.landing(OTHER), "city311").create("csv"), records.slice(400, 600), 200,
                tmp_path / "theirs")
    land_chunks(LandingLog(workspace.landing(OTHER), "mobile-app").create("csv"), records.slice(1_000), 200,
                tmp_path / "theirs")
    store_path = workspace.live_store("tiny")
    reports = []
    runner = threading.Thread(target=lambda: reports.append(stream(LiveSettings(workspace, "tiny",
                                                                               handover_seconds=0.5))))
    runner.start()
    try:
        wait_until(lambda: committed_offsets(store_path).get("city311") == ours.end(), 90)
        time.sleep(2.0)  # longer than the new-source watcher's look: it must not see `mobile-app`
    finally:
        STOP.set()
        runner.join(timeout=60)
    assert not runner.is_alive() and len(reports) == 1
    assert reports[0].sources == ["city311"] and reports[0].offsets == {"city311": 2}
    store = LiveStoreReader.open(store_path)
    try:
        counts = store.ledger()
    finally:
        store.close()
    assert counts[ledger.RECORDS_IN] == 400 and ledger.balances(counts)
