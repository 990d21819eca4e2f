"""Building blocks of the live-path tests: recent generated feeds, landing them, running the CLI."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from flows.cli_steps import urbanpulse_command
from pipelines.land_requests import land_file
from plumbing.landing import LandingLog
from plumbing.live_store.backend import store_exists
from plumbing.live_store.reader import LiveStoreReader
from schemas import live as lv
from schemas import requests as rq
from schemas.live import WINDOWS_READER
from synthetic.requests.generator import write_requests

REPO = Path(__file__).resolve().parents[1]


def land_chunks(log: LandingLog, records: pl.DataFrame, chunk: int, folder: Path) -> list[int]:
    published = []
    for number, start in enumerate(range(0, records.height, chunk)):
        path = folder / f"{log.source}-{number:03d}.csv"
        write_requests(records.slice(start, chunk), path, "csv")
        published += land_file(log, path, "csv")
    return published


def urbanpulse(home: Path, *args: str) -> subprocess.Popen:
    """The `urbanpulse` command in its own process (as a department's server would run it)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(urbanpulse_command(home, *args), cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def windows_of(store_path: Path) -> pl.DataFrame:
    store = LiveStoreReader.open(store_path)
    try:
        return store.window_frame().sort(lv.WINDOW, lv.WINDOW_START, rq.DISTRICT_ID, rq.CATEGORY)
    finally:
        store.close()


def committed_offsets(store_path: Path) -> dict[str, int]:
    """Per source, how far the stream's windows step has committed (empty before it starts)."""
    if not store_exists(store_path):
        return {}
    store = LiveStoreReader.open(store_path)
    try:
        return store.offsets(WINDOWS_READER)
    except Exception:  # noqa: BLE001  (the writer may be creating the tables right now)
        return {}
    finally:
        store.close()


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll `condition` every 0.2 s until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False
