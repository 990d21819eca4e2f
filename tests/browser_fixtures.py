"""Building blocks of the dashboard page's browser tests and benchmark: a city whose live store
holds all three streams (requests through the live pipeline, sensor observations through the
stream of sensors, a vote through the stream of votes), and headless Debian Chromium driven by
Playwright (its own browser builds are never downloaded: `executable_path` points at Debian's).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from live_fixtures import land_chunks

from models.cities.pack import CityPack
from pipelines.land_votes import BallotLander
from pipelines.live_elections import open_vote
from pipelines.stream_requests import LiveSettings, replay
from pipelines.stream_sensors import SensorSettings, catch_up, encoded, land_observations
from pipelines.stream_votes import VoteSettings
from pipelines.stream_votes import catch_up as count_votes
from plumbing.landing import LandingLog
from plumbing.workspace import Workspace
from schemas import citypack as cp
from synthetic.participation.generator import generate_votes, write_pabulib
from synthetic.replayer import recent_requests

CHROMIUM_NAMES = ("chromium", "chromium-browser")
SOURCE = "city311"
ELECTION = "budget-2026"


@dataclass
class DashboardHome:
    workspace: Workspace
    city: str
    pack: CityPack
    settings: LiveSettings
    log: LandingLog
    more: pl.DataFrame  # generated requests not landed yet
    feeds: Path
    stations: list[str]


def chromium_path(install: bool = True) -> tuple[str | None, str]:
    """Debian's Chromium (installed with apt-get when missing and `install`), or None and why not."""
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found, ""
    if not install:
        return None, "no chromium on PATH"
    if shutil.which("apt-get") is None:
        return None, "no chromium on PATH and no apt-get to install it"
    try:
        for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(step, check=True, capture_output=True, timeout=900,
                           env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    except (subprocess.SubprocessError, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        return None, f"apt-get install chromium failed: {error} {detail.decode(errors='replace')[-300:]}"
    return next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None), "apt-get installed no chromium"


@contextmanager
def chromium(executable: str) -> Iterator[object]:
    """A headless Chromium (Playwright's Browser) that reaches nothing but 127.0.0.1."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--metrics-recording-only", "--no-default-browser-check",
        ])
        try:
            yield browser
        finally:
            browser.close()


def district_points(pack: CityPack, count: int) -> list[tuple[str, float, float]]:
    """(district id, lat, long) of a point inside each of the first `count` districts (the
    centroid of the district's first ring, which is inside for the packs' convex districts)."""
    features = json.loads((pack.root / cp.PACK_DISTRICTS_FILE).read_text(encoding="utf-8"))["features"]
    points = []
    for feature in features[:count]:
        geometry = feature["geometry"]
        ring = geometry["coordinates"][0] if geometry["type"] == "Polygon" else geometry["coordinates"][0][0]
        xs, ys = [p[0] for p in ring[:-1]], [p[1] for p in ring[:-1]]
        points.append((feature["properties"][cp.DISTRICT_ID], sum(ys) / len(ys), sum(xs) / len(xs)))
    return points


def dashboard_home(home: Path, pack: CityPack, landed: int, more: int = 200, chunk: int = 500,
                   stations: int = 3, ballots: int = 400) -> DashboardHome:
    """`pack`'s city with `landed` requests of the last days in its live store, `stations`
    sensor stations with 36 hours of pm2.5 and no2 (one above the WHO 24-hour pm2.5 guideline),
    and an open approval vote with `ballots` ballots counted."""
    workspace, city = Workspace(home), pack.name
    feeds = home / "feeds"
    feeds.mkdir(parents=True, exist_ok=True)
    records = recent_requests(pack, landed + more, seed=11)
    log = LandingLog(workspace.landing(city), SOURCE).create("csv")
    land_chunks(log, records.head(landed), chunk, feeds)
    settings = LiveSettings(workspace, city, lateness=timedelta(days=14))
    replay(settings)
    station_ids = _sensors(workspace, pack, home, stations)
    _vote(workspace, pack, home, ballots)
    return DashboardHome(workspace, city, pack, settings, log, records.tail(more), feeds, station_ids)


def _sensors(workspace: Workspace, pack: CityPack, home: Path, count: int) -> list[str]:
    points = district_points(pack, count)
    ids = [f"st-{n + 1}" for n in range(len(points))]
    stations = home / "stations.csv"
    stations.write_text("station_id,name,lat,lon\n" + "".join(
        f"{sid},Station {n + 1},{lat:.6f},{lon:.6f}\n" for n, (sid, (_, lat, lon)) in enumerate(zip(ids, points))),
        encoding="utf-8")
    settings = SensorSettings(workspace, pack.name, stations=stations)
    start = (datetime.now(UTC) - timedelta(hours=36)).replace(minute=0, second=0, microsecond=0)
    rows = []
    for n, sid in enumerate(ids):
        level = 8.0 + 14.0 * n  # 8, 22, 36 µg/m³: good, moderate, poor
        for hour in range(36):
            moment = (start + timedelta(hours=hour)).isoformat()
            rows.append({"station_id": sid, "parameter": "pm25", "value": level + (hour % 5), "observed_at": moment})
            rows.append({"station_id": sid, "parameter": "no2", "value": 30.0 + hour, "observed_at": moment})
    land_observations(settings, "air", [encoded(rows)], "dashboard-test")
    catch_up(settings)
    return ids


def _vote(workspace: Workspace, pack: CityPack, home: Path, ballots: int) -> None:
    if not ballots:
        return
    vote = generate_votes(pack, ballots, seed=5, kind="approval", election=ELECTION)
    path = write_pabulib(vote, home / f"{ELECTION}.pb")
    text = path.read_text(encoding="utf-8")
    rules = home / f"{ELECTION}-rules.pb"
    rules.write_text(text[: text.index("\nVOTES\n")] + "\nVOTES\n", encoding="utf-8")
    open_vote(workspace, pack.name, rules, ELECTION)
    BallotLander(workspace, pack.name, ELECTION).land(vote.ballots.select(vote.vote_columns))
    count_votes(VoteSettings(workspace, pack.name))


def land_requests(home: DashboardHome, records: pl.DataFrame, name: str) -> None:
    """Land `records` as one more export of the city's 311 source and let the live path commit it."""
    first_new = home.log.end()
    folder = home.feeds / name
    folder.mkdir(parents=True, exist_ok=True)
    land_chunks(home.log, records, max(records.height, 1), folder)
    replay(home.settings, from_seq=first_new)
