"""The participation part of the live demo: the demo's vote opened live, its ballots landed at a
steady rate, and the vote stream counting them, so the dashboard's participation panel moves.

    in-process:  open the demo's .pb vote as `<election>-live`; land its ballots, a batch a second
    urbanpulse stream votes --city demo      tallies, turnout, greedy and equal-shares results
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from flows.cli_steps import stop_processes, urbanpulse_process
from pipelines.land_votes import BallotLander, read_ballot_file
from pipelines.live_elections import open_vote
from plumbing.workspace import Workspace

LIVE_SUFFIX = "-live"


class LiveVote:
    """A vote stream process and a thread landing the vote file's ballots, until `stop()`."""

    def __init__(self, workspace: Workspace, city: str, vote_file: Path, rate: float) -> None:
        self.workspace, self.city, self.vote_file, self.rate = workspace, city, vote_file, rate
        self.election_id = f"{vote_file.stem}{LIVE_SUFFIX}"
        self.landed = 0
        self._stop = threading.Event()
        self._process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def start(self, base: str) -> LiveVote:
        open_vote(self.workspace, self.city, self.vote_file, self.election_id)
        self._process = urbanpulse_process(self.workspace.root, "stream", "votes", "--city", self.city)
        self._thread = threading.Thread(target=self._land, daemon=True)
        self._thread.start()
        print(f"  vote:     {self.election_id!r} open, {self.rate:,.0f} ballots/s; results "
              f"{base}/api/v1/participation/{self.election_id}/projects", flush=True)
        return self

    def _land(self) -> None:
        lander = BallotLander(self.workspace, self.city, self.election_id)
        ballots = read_ballot_file(self.vote_file)
        per_second = max(1, round(self.rate))
        for start in range(0, ballots.height, per_second):
            if self._stop.wait(1.0):
                return
            lander.land(ballots.slice(start, per_second), origin="live-demo")
            self.landed += min(per_second, ballots.height - start)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._process is not None:
            stop_processes([self._process], 60)
