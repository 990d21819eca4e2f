"""Live votes benchmark (`make bench-live-votes`): land ballots at a fixed rate into an open vote
while the stream of votes runs, and measure landed -> visible in the feed.

    python -m bench.live_votes [--rate 2000] [--seconds 60] [--tick 0.1] [--revote-share 0.05]

As a city would run it: the vote opened in the demo city's live store, `urbanpulse serve` and the
stream of votes in their own processes, a producer landing `rate * tick` ballots every `tick`
seconds (a share of them from voters who voted before, so replacements are exercised). Two
clients watch the feed: one reads `/api/v1/stream` (a segment's latency is from its landing, the
segment's own timestamp, to its `participation` change event), one polls
`/api/v1/participation/{election}/projects` every 50 ms (a segment is visible once `ballots_in`
covers it). At the end the live tallies are checked against a direct count of the landed ballots.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import polars as pl

from bench.live import MemorySampler, _percentiles, _start, _wait_for
from bench.report import code_state, machine_info, save_report
from bench.workload import build_city
from flows.cli_steps import urbanpulse_command
from pipelines.land_votes import BallotLander, segment_table
from pipelines.live_elections import open_vote
from plumbing.live_store import votes as vt
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import live as lv
from synthetic.participation.generator import generate_votes, write_pabulib
from synthetic.replayer import land_at_rate

OUT = Path(__file__).resolve().parent / "out"
CITY = "demo"
ELECTION = "bench-live"
PORT = 8766
POLL_SECONDS = 0.05


def _say(message: str) -> None:
    print(f"[bench-live-votes] {message}", flush=True)


def prepare(home: Path, count: int, seed: int, revote_share: float) -> tuple[Workspace, pl.DataFrame]:
    """The demo city with the vote opened (its rules only) and `count` ballots to land, some of
    them second ballots of voters who voted earlier (other choices)."""
    shutil.rmtree(home, ignore_errors=True)
    workspace = Workspace(home)
    pack = build_city(workspace)
    vote = generate_votes(pack, count, seed, "approval", election=ELECTION)
    text = write_pabulib(vote, home / "vote.pb").read_text(encoding="utf-8")
    rules = home / "rules.pb"
    rules.write_text(text[: text.index("\nVOTES\n")] + "\nVOTES\n", encoding="utf-8")
    open_vote(workspace, CITY, rules, ELECTION)
    ballots = vote.ballots.select(vote.vote_columns).cast(pl.String)
    rng = np.random.default_rng(seed)
    later = np.arange(count // 2, count)
    again = later[rng.random(later.size) < revote_share]
    voters = ballots["voter_id"].to_numpy().copy()
    voters[again] = voters[rng.integers(0, count // 2, again.size)]
    return workspace, ballots.with_columns(pl.Series("voter_id", voters))


class Watchers:
    """The event-stream reader and the projects poller: when each segment became visible."""

    def __init__(self, url: str) -> None:
        self.url, self.stop = url, threading.Event()
        self.event_at: dict[int, datetime] = {}
        self.seen_in: list[tuple[datetime, int]] = []  # (when, ballots_in the projects answer said)
        self.threads = [threading.Thread(target=self._events, daemon=True),
                        threading.Thread(target=self._poll, daemon=True)]
        for thread in self.threads:
            thread.start()

    def _events(self) -> None:
        while not self.stop.is_set():
            try:
                with httpx.stream("GET", f"{self.url}/api/v1/stream", params={"from": 0}, timeout=None) as response:
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            change = json.loads(line[6:])
                            if change.get("kind") == "participation" and change.get("event") == "ballots":
                                self.event_at.setdefault(change["segment"]["seq"], datetime.now(UTC))
            except httpx.HTTPError:
                time.sleep(0.2)

    def _poll(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.wait(POLL_SECONDS):
                try:
                    answer = client.get(f"{self.url}/api/v1/participation/{ELECTION}/projects")
                except httpx.HTTPError:
                    continue
                if answer.status_code == 200:
                    self.seen_in.append((datetime.now(UTC), answer.json()[vt.BALLOTS_IN]))

    def polled_at(self, landed: list[tuple[int, datetime, int]], before: int) -> dict[int, datetime]:
        """When the poller first saw `ballots_in` cover each segment (`before`: landed earlier)."""
        found, ends, total = {}, [], before
        for seq, _, rows in landed:
            total += rows
            ends.append((seq, total))
        position = 0
        for when, count in self.seen_in:
            while position < len(ends) and ends[position][1] <= count:
                found[ends[position][0]] = when
                position += 1
        return found


def measure(workspace: Workspace, ballots: pl.DataFrame, rate: float, seconds: float, tick: float) -> dict:
    """Serve, stream, warm up with one segment, land `rate` ballots/s for `seconds`, then stop
    both and compute the latencies (see the module docstring)."""
    home, lander = workspace.root, BallotLander(workspace, CITY, ELECTION)
    server = _start(urbanpulse_command(home, "serve", "--city", CITY, "--port", str(PORT)), OUT / "logs" / "votes-serve.log")
    stream = _start(urbanpulse_command(home, "stream", "votes", "--city", CITY), OUT / "logs" / "votes-stream.log")
    watchers = None
    try:
        url = f"http://127.0.0.1:{PORT}"
        _wait_for(f"{url}/health")
        watchers = Watchers(url)
        sampler = MemorySampler(stream.pid)
        sampler.start()
        warm_up = ballots.head(round(rate * tick))
        (first,) = lander.land(warm_up, origin="warm-up")
        deadline = time.monotonic() + 120
        while first not in watchers.event_at and time.monotonic() < deadline:
            time.sleep(0.05)
        count = min(ballots.height - warm_up.height, round(rate * seconds))
        load_before = os.getloadavg()
        started = time.monotonic()
        landing = land_at_rate(lander.log, segment_table(ballots.slice(warm_up.height, count), "steady"), rate, tick)
        landed_for = time.monotonic() - started
        wanted = {seq for seq, _, _ in landing.segments}
        deadline = time.monotonic() + 120
        while not wanted <= watchers.event_at.keys() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)  # the poller's last look
        sampler.stop.set()
    finally:
        if watchers is not None:
            watchers.stop.set()
        stream.send_signal(signal.SIGTERM)
        try:
            stream.wait(timeout=120)
        except subprocess.TimeoutExpired:
            stream.kill()
        server.terminate()
        server.wait(timeout=30)
    polled = watchers.polled_at(landing.segments, warm_up.height)
    events = [(watchers.event_at[s] - at).total_seconds() for s, at, _ in landing.segments if s in watchers.event_at]
    polls = [(polled[s] - at).total_seconds() for s, at, _ in landing.segments if s in polled]
    return {
        "offered_rate": rate, "tick_seconds": tick, "landed_ballots": landing.records,
        "landing_seconds": round(landed_for, 1), "producer_late_ticks": landing.late_ticks,
        "segments": len(landing.segments), "segments_with_event": len(events), "segments_seen_by_poll": len(polls),
        "event_latency_seconds": _percentiles(events), "poll_latency_seconds": _percentiles(polls),
        "commit_latency_seconds": _percentiles(_commit_latencies(workspace)),
        "load_average_before_after": [load_before, os.getloadavg()],
        "stream_memory_mb_peak": round(max((own for _, _, own in sampler.samples), default=0.0), 1),
        "tallies": _check_tallies(workspace, ballots.head(warm_up.height + count)),
    }


def _commit_latencies(workspace: Workspace) -> list[float]:
    reader = LiveStoreReader.open(workspace.live_store(CITY))
    try:
        rows = reader.db.execute(f"SELECT {lv.COMMITTED_AT} - {lv.LANDED_AT} FROM {vt.SEGMENTS_TABLE.name} "
                                 "ORDER BY seq").fetchall()
    finally:
        reader.close()
    return [micros / 1e6 for (micros,) in rows[1:]]  # without the warm-up segment


def _check_tallies(workspace: Workspace, landed: pl.DataFrame) -> dict:
    """The live tallies against a direct count: every voter's latest ballot, per project."""
    latest = landed.with_row_index("_at").sort("_at").unique("voter_id", keep="last")
    expected = latest.select(pl.col("vote").str.split(",")).explode("vote").group_by("vote").len()
    reader = LiveStoreReader.open(workspace.live_store(CITY))
    try:
        row = vt.election(reader.db, ELECTION)
        stored = vt.project_frame(reader.db, ELECTION).filter(pl.col("votes") > 0)
    finally:
        reader.close()
    counts = dict(expected.iter_rows())
    return {"ballots_landed": landed.height, "voters": latest.height, "ballots_counted": row["ballots"],
            "replaced": landed.height - latest.height,
            "match": row["ballots"] == latest.height and dict(stored.select("project_id", "votes").iter_rows()) == counts}


def render(report: dict) -> str:
    """The report as Markdown: the machine and its load, the run, the three latencies."""
    machine, run = report["machine"], report["run"]
    row = lambda name, lat: f"| {name} | {lat.get('p50')} | {lat.get('p95')} | {lat.get('p99')} | {lat.get('max')} |"
    return "\n".join([
        "# Live votes benchmark", "",
        f"Machine: {machine['nproc']} cores, {machine['cpu_model']}, {machine['ram_gb']} GB; "
        f"commit {report['code'].get('commit', '')}; load average before / after "
        f"{run['load_average_before_after'][0][0]:.2f} / {run['load_average_before_after'][1][0]:.2f}", "",
        f"{run['landed_ballots']:,} ballots at {run['offered_rate']:,.0f}/s in segments of "
        f"{run['offered_rate'] * run['tick_seconds']:,.0f} every {run['tick_seconds']} s ({run['landing_seconds']} s, "
        f"{run['producer_late_ticks']} late ticks); tallies match a direct count: {run['tallies']['match']} "
        f"({run['tallies']['replaced']:,} replaced ballots)", "",
        "| landed -> | p50 s | p95 s | p99 s | max s |", "|---|---:|---:|---:|---:|",
        row("committed in the live store", run["commit_latency_seconds"]),
        row("change event on /api/v1/stream", run["event_latency_seconds"]),
        row("visible in /participation/{e}/projects (50 ms polls)", run["poll_latency_seconds"]), "",
    ])


def main(argv: list[str] | None = None) -> int:
    """Prepare, measure, and write bench/out/live_votes_report.{json,md}."""
    parser = argparse.ArgumentParser(prog="python -m bench.live_votes", description=__doc__)
    parser.add_argument("--rate", type=float, default=2_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--tick", type=float, default=0.1)
    parser.add_argument("--revote-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    count = round(args.rate * (args.seconds + args.tick))
    _say(f"preparing the demo city and a vote of {count:,} ballots")
    workspace, ballots = prepare(OUT / "live-votes-home", count, args.seed, args.revote_share)
    _say(f"landing {args.rate:,.0f} ballots/s for {args.seconds:.0f} s")
    report = {"machine": machine_info(), "code": code_state(), "settings": vars(args),
              "run": measure(workspace, ballots, args.rate, args.seconds, args.tick)}
    save_report(OUT, "live_votes_report", report, render(report))
    print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
