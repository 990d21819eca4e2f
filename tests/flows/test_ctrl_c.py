"""Ctrl-C stops an ingest under Prefect at once (regression: at f906a3d the interrupt was retried
as a task failure, killed Prefect's temporary server, and the command exited 1 three minutes and
342 lines later)."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil
from live_fixtures import REPO

from flows.cli_steps import EXIT_INTERRUPTED, urbanpulse_command
from models.cities.pack import CityPack
from plumbing.workspace import Workspace
from synthetic.replayer import recent_requests
from synthetic.requests.generator import write_requests


def _read_lines(stream, lines: list[str]) -> None:
    lines.extend(stream)  # appends line by line as the process writes them


def test_sigint_stops_an_ingest_under_prefect_within_seconds(tmp_path: Path, tiny_pack: CityPack) -> None:
    home = tiny_pack.root.parents[1]
    feed = tmp_path / "feed.csv"
    write_requests(recent_requests(tiny_pack, 60_000, seed=5), feed, "csv")
    ingest = subprocess.Popen(urbanpulse_command(home, "ingest", "requests", str(feed), "--city", "tiny"),
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=_read_lines, args=(ingest.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + 180
    while not any("Beginning flow run" in line for line in lines) and time.monotonic() < deadline:
        assert ingest.poll() is None, "".join(lines)
        time.sleep(0.2)
    assert any("Beginning flow run" in line for line in lines), "".join(lines)
    time.sleep(1.0)
    children = psutil.Process(ingest.pid).children(recursive=True)
    interrupted = time.monotonic()
    ingest.send_signal(signal.SIGINT)
    code = ingest.wait(timeout=30)
    took = time.monotonic() - interrupted
    output = "".join(lines)
    assert code == EXIT_INTERRUPTED and took < 5, (code, took, output)
    assert "interrupted: stopped" in output
    assert "Retry" not in output and "retry" not in output.split("interrupted")[-1], output
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, [p.cmdline() for p in alive]
    assert not list(Workspace(home).requests_dataset.rglob("*.parquet"))  # nothing half-published
