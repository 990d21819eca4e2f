"""Live benchmark (`make bench-live`): land requests at a fixed rate while the stream runs and a
client watches the feed; report sustained throughput, landing -> feed latency and memory.

    python -m bench.live [--rate 5000] [--seconds 300] [--tick 0.5] [--baseline-seconds 60]

Everything runs as it would for a department: `urbanpulse stream requests` and `urbanpulse
serve` in their own processes, a producer landing segments every `tick` seconds, and a
server-sent-events client on /api/v1/stream. A segment's latency is the time from its landing
(the segment's own timestamp) to the feed event that carries it. The baseline, measured in the
same run on the same data and rate, is the other design the live path could have had: a
micro-batch driver that runs a bounded Beam pipeline over the new segments in a loop.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pyarrow as pa
import pyarrow.compute as pc

from bench.measure import tree_rss_bytes
from bench.report import code_state, machine_info, save_report
from bench.workload import build_city
from flows.cli_steps import urbanpulse_command
from models.classification.training import train_classifier
from plumbing.landing import LandingLog
from plumbing.live_store.backend import LIVE_STORE_URL_ENV
from plumbing.publishing import remove_published
from plumbing.workspace import Workspace
from schemas import requests as rq
from synthetic.replayer import land_at_rate, raw_records, recent_requests
from synthetic.requests.generator import generate_requests

OUT = Path(__file__).resolve().parent / "out"
REPO = Path(__file__).resolve().parents[1]
CITY = "demo"
SOURCE = "city311"
PORT = 8765
MB = 1024 * 1024
SOAK_WARM_UP_SECONDS = 300.0  # the soak's flatness is judged after this
SOAK_WINDOW_SECONDS = 300.0  # first and last five minutes after warm-up
GENERATED_AT_MOST = 1_500_000  # a longer run lands these again, under new ids, cycle after cycle


def _say(message: str) -> None:
    print(f"[bench-live] {message}", flush=True)


def prepare(home: Path, count: int, seed: int):
    """A fresh workspace: the demo city, a classifier trained on its history, `count` recent requests."""
    shutil.rmtree(home, ignore_errors=True)
    workspace = Workspace(home)
    pack = build_city(workspace)
    history, truth = generate_requests(pack, 50_000, seed + 1)
    train_classifier(workspace, history.with_columns(truth[rq.CATEGORY]), rq.DESCRIPTION, rq.CATEGORY,
                     "demo-classifier", city=CITY, time=rq.REQUESTED_DATETIME, candidates=["hashed-linear"])
    return workspace, raw_records(recent_requests(pack, count, seed, days=7), SOURCE, "bench-live")


def cycled(records: pa.Table, count: int) -> pa.Table:
    """`count` records: the generated ones, then again with the cycle in their ids (new requests)."""
    copies = [records]
    ids = records.column(rq.SERVICE_REQUEST_ID)
    position = records.schema.get_field_index(rq.SERVICE_REQUEST_ID)
    while sum(copy.num_rows for copy in copies) < count:
        suffix = pa.scalar(f"-c{len(copies)}", ids.type)
        copies.append(records.set_column(position, rq.SERVICE_REQUEST_ID, pc.binary_join_element_wise(ids, suffix, pa.scalar("", ids.type))))
    return pa.concat_tables(copies).slice(0, count)


def _start(command: list[str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(log, "w"))


class FeedWatcher(threading.Thread):
    """Reads /api/v1/stream and notes when each landing segment's change arrived."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.arrived, self.committed, self.connected = url, {}, {}, threading.Event()
        self.resyncs = 0

    def run(self) -> None:
        while True:
            try:
                # from=0: every change the store still holds, so nothing is missed before connecting
                with httpx.stream("GET", self.url, params={"from": 0}, timeout=None) as response:
                    if response.status_code != 200:  # no live store yet
                        time.sleep(0.2)
                        continue
                    self.connected.set()
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            change = json.loads(line[6:])
                            if "segment" not in change:  # a resync: this client never falls that far behind
                                self.resyncs += 1
                                continue
                            seq = change["segment"]["seq"]
                            self.arrived.setdefault(seq, datetime.now(UTC))
                            self.committed.setdefault(seq, datetime.fromisoformat(change["committed_at"]))
            except httpx.HTTPError:
                time.sleep(0.2)


class MemorySampler(threading.Thread):
    def __init__(self, pid: int, store_folder: Path | None = None) -> None:
        super().__init__(daemon=True)
        self.process, self.samples, self.stop = psutil.Process(pid), [], threading.Event()
        self.store_folder, self.disk = store_folder, []  # (seconds, MB of the live store's folder)

    def run(self) -> None:
        started = time.monotonic()
        while not self.stop.wait(1.0):
            try:
                at = time.monotonic() - started
                self.samples.append((at, tree_rss_bytes(self.process) / MB, self.process.memory_info().rss / MB))
            except psutil.NoSuchProcess:
                return
            if self.store_folder is not None and len(self.samples) % 10 == 0:
                self.disk.append((round(at), round(_folder_bytes(self.store_folder) / MB, 1)))


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except FileNotFoundError:  # a hand-over file published meanwhile
            pass
    return total


def _wait_for(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def measure(workspace: Workspace, records, rate: float, seconds: float, tick: float, driver: list[str]) -> dict:
    """Land `rate` records/s for `seconds` while `driver` (stream or micro-batch) runs; watch the feed."""
    home = workspace.root
    for path in (workspace.landing(CITY), workspace.state / "live"):
        shutil.rmtree(path, ignore_errors=True)
    remove_published(workspace)
    log = LandingLog(workspace.landing(CITY), SOURCE).create()
    server = _start(urbanpulse_command(home, "serve", "--city", CITY, "--port", str(PORT)), OUT / "logs" / "live-serve.log")
    runner = _start(driver, OUT / "logs" / "live-driver.log")
    try:
        _wait_for(f"http://127.0.0.1:{PORT}/health")
        watcher = FeedWatcher(f"http://127.0.0.1:{PORT}/api/v1/stream")
        watcher.start()
        sampler = MemorySampler(runner.pid, workspace.state / "live")
        sampler.start()
        count = min(records.num_rows, round(rate * seconds))
        started = time.monotonic()
        landing = land_at_rate(log, records.slice(0, count), rate, tick)
        landed_for = time.monotonic() - started
        wanted = {seq for seq, _, _ in landing.segments}
        drain_deadline = time.monotonic() + 120
        while not wanted <= watcher.arrived.keys() and time.monotonic() < drain_deadline:
            time.sleep(0.2)
        sampler.stop.set()
    finally:
        runner.send_signal(signal.SIGTERM)
        try:
            runner.wait(timeout=120)
        except subprocess.TimeoutExpired:
            runner.kill()
        server.terminate()
        server.wait(timeout=30)
    latencies = [(watcher.arrived[seq] - landed).total_seconds() for seq, landed, _ in landing.segments
                 if seq in watcher.arrived]
    committed = [(watcher.committed[seq] - landed).total_seconds() for seq, landed, _ in landing.segments
                 if seq in watcher.committed]
    delivered = sum(rows for seq, _, rows in landing.segments if seq in watcher.arrived)
    last = max(watcher.arrived.values(), default=None)
    first_landed = landing.segments[0][1]
    memory = sampler.samples
    return {
        "offered_rate": rate, "tick_seconds": tick, "landed_records": landing.records,
        "landing_seconds": round(landed_for, 1), "producer_late_ticks": landing.late_ticks,
        "segments": len(landing.segments), "segments_in_feed": len(latencies),
        "records_in_feed": delivered,
        "sustained_rate": round(delivered / (last - first_landed).total_seconds(), 1) if last else 0.0,
        "latency_seconds": _percentiles(latencies),
        "commit_latency_seconds": _percentiles(committed),
        "timeline": [(seq, round((watcher.committed[seq] - landed).total_seconds(), 2),
                      round((watcher.arrived[seq] - landed).total_seconds(), 2))
                     for seq, landed, _ in landing.segments if seq in watcher.committed],
        "memory_mb": _memory(memory),
        "soak": _soak(memory, sampler.disk, [(landed, latency) for (_, landed, _), latency in zip(
            [s for s in landing.segments if s[0] in watcher.arrived], latencies, strict=True)], first_landed),
        "resyncs": watcher.resyncs,
    }


def _soak(memory: list[tuple[float, float, float]], disk: list[tuple[int, float]], latencies: list,
          first_landed: datetime, warm_up: float = SOAK_WARM_UP_SECONDS) -> dict:
    """Flatness after warm-up: the stream's and its publisher's RSS in the first and last five
    minutes after it (medians of the 1-s samples), p95 landing -> feed of the segments landed after
    it, and the live store folder on disk."""
    after = [(at, tree, own) for at, tree, own in memory if at >= warm_up]
    if not after or after[-1][0] - warm_up < 2 * SOAK_WINDOW_SECONDS:
        return {}
    end = after[-1][0]
    first = [sample for sample in after if sample[0] < warm_up + SOAK_WINDOW_SECONDS]
    last = [sample for sample in after if sample[0] > end - SOAK_WINDOW_SECONDS]
    median = lambda rows, pick: round(statistics.median(pick(row) for row in rows), 1)
    stream = (median(first, lambda r: r[2]), median(last, lambda r: r[2]))
    publisher = (median(first, lambda r: r[1] - r[2]), median(last, lambda r: r[1] - r[2]))
    late = [latency for landed, latency in latencies if (landed - first_landed).total_seconds() >= warm_up]
    disk_after = [mb for at, mb in disk if at >= warm_up]
    return {"warm_up_seconds": warm_up, "window_seconds": SOAK_WINDOW_SECONDS,
            "stream_mb_first_last": stream, "stream_growth": round(stream[1] / stream[0] - 1, 3),
            "publisher_mb_first_last": publisher,
            "publisher_growth": round(publisher[1] / publisher[0] - 1, 3) if publisher[0] else None,
            "p95_after_warm_up": _percentiles(late).get("p95"),
            "store_disk_mb_first_last": (disk_after[0], disk_after[-1]) if disk_after else None,
            "disk_series_mb": disk[::6]}


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    pick = lambda share: ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
    return {"p50": round(pick(0.5), 3), "p95": round(pick(0.95), 3), "p99": round(pick(0.99), 3),
            "max": round(ordered[-1], 3), "mean": round(statistics.fmean(ordered), 3)}


def _memory(samples: list[tuple[float, float, float]]) -> dict:
    """Whole process tree (stream + dataset publisher) and the stream process alone, in MB."""
    if not samples:
        return {}
    minute = [tree for at, tree, _ in samples if 30 <= at <= 90] or [samples[0][1]]
    minute_own = [own for at, _, own in samples if 30 <= at <= 90] or [samples[0][2]]
    tail = samples[-60:]
    return {"peak": round(max(tree for _, tree, _ in samples), 1),
            "median_30_90s": round(statistics.median(minute), 1),
            "median_last_60_samples": round(statistics.median(tree for _, tree, _ in tail), 1),
            "stream_only_median_30_90s": round(statistics.median(minute_own), 1),
            "stream_only_median_last_60_samples": round(statistics.median(own for _, _, own in tail), 1),
            "series": [(round(at), round(tree), round(own)) for at, tree, own in samples[::10]]}


def microbatch_driver(home: Path, poll_seconds: float) -> None:
    """The baseline: every poll, a bounded Beam pipeline over the segments landed since the last one."""
    from pipelines.stream_requests import LiveSettings, replay

    settings = LiveSettings(Workspace(home), CITY, sources=[SOURCE])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    next_seq = 0
    while not stop.is_set():
        end = LandingLog(settings.landing, SOURCE).end()
        if end > next_seq:
            replay(settings, from_seq=next_seq)
            next_seq = end
        else:
            stop.wait(poll_seconds)


def render(report: dict) -> str:
    machine, commit = report["machine"], report["code"].get("commit", "")
    lines = ["# Live path benchmark", "",
             f"Machine: {machine['nproc']} cores, {machine['cpu_model']}, {machine['ram_gb']} GB; commit {commit}", ""]
    lines += ["| design | offered /s | sustained /s | records in feed | p50 s | p95 s | p99 s | max s | memory MB (30-90 s -> last min, peak) |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, run in report["runs"].items():
        lat, mem = run["latency_seconds"], run["memory_mb"]
        lines.append(f"| {name} | {run['offered_rate']:,.0f} | {run['sustained_rate']:,.0f} | "
                     f"{run['records_in_feed']:,} / {run['landed_records']:,} | {lat.get('p50')} | {lat.get('p95')} | "
                     f"{lat.get('p99')} | {lat.get('max')} | {mem.get('median_30_90s')} -> {mem.get('median_last_60_samples')}, "
                     f"{mem.get('peak')} |")
    lines += ["", "Commit latency (landed -> committed in the live store), p50 / p95 / p99: " + "; ".join(
        f"{name}: {run['commit_latency_seconds'].get('p50')} / {run['commit_latency_seconds'].get('p95')} / "
        f"{run['commit_latency_seconds'].get('p99')} s" for name, run in report["runs"].items())]
    lines += ["", "Stream process alone (without its publisher), MB at 30-90 s -> last minute: " + "; ".join(
        f"{name}: {run['memory_mb'].get('stream_only_median_30_90s')} -> "
        f"{run['memory_mb'].get('stream_only_median_last_60_samples')}" for name, run in report["runs"].items())]
    soaks = {name: run["soak"] for name, run in report["runs"].items() if run.get("soak")}
    if soaks:
        lines += ["", "Soak (after the warm-up; medians of the first and last five minutes):", "",
                  "| design | stream MB | growth | publisher MB | growth | p95 s | live store on disk MB |",
                  "|---|---|---:|---|---:|---:|---|"]
        for name, soak in soaks.items():
            lines.append(f"| {name} | {soak['stream_mb_first_last'][0]} -> {soak['stream_mb_first_last'][1]} | "
                         f"{soak['stream_growth']:+.1%} | {soak['publisher_mb_first_last'][0]} -> "
                         f"{soak['publisher_mb_first_last'][1]} | {soak['publisher_growth'] or 0:+.1%} | "
                         f"{soak['p95_after_warm_up']} | {soak['store_disk_mb_first_last']} |")
    lines += ["", "Latency: segment landed (its timestamp) -> its change received on /api/v1/stream.",
              (f"Segments of {report['settings']['rate'] * report['settings']['tick']:,.0f} records every "
               f"{report['settings']['tick']} s; generated requests of the last 7 days, sorted by version time."), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__)
    parser.add_argument("--rate", type=float, default=5_000)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--tick", type=float, default=0.5)
    parser.add_argument("--baseline-seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--soak", action="store_true",
                        help="the long run: --seconds defaults to 1800, no baseline; the report judges memory "
                             "flatness, p95 and disk after a 5-minute warm-up")
    parser.add_argument("--postgres-url", help="also run the stream with its live store on this PostgreSQL "
                        "database (URBANPULSE_LIVE_STORE_URL), on a copy of the same prepared home")
    parser.add_argument("--microbatch-driver", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.microbatch_driver:
        microbatch_driver(args.microbatch_driver, poll_seconds=0.2)
        return 0
    if args.soak:
        args.seconds = args.seconds if "--seconds" in (argv or sys.argv) else 1_800.0
        args.baseline_seconds = 0
    home = OUT / "live-home"
    count = round(args.rate * max(args.seconds, args.baseline_seconds))
    _say(f"preparing the demo city, a classifier and {count:,} requests")
    workspace, records = prepare(home, min(count, GENERATED_AT_MOST), args.seed)
    records = cycled(records, count)
    server_home = OUT / "live-home-postgres"
    if args.postgres_url:
        shutil.rmtree(server_home, ignore_errors=True)
        shutil.copytree(home, server_home, symlinks=True)
    runs = {}
    _say(f"stream: {args.rate:,.0f} records/s for {args.seconds:.0f} s")
    runs["long-running Beam stream"] = measure(
        workspace, records, args.rate, args.seconds, args.tick,
        urbanpulse_command(home, "stream", "requests", "--city", CITY, "--handover-seconds", "30"),
    )
    _say(json.dumps(runs["long-running Beam stream"]["latency_seconds"]))
    if args.postgres_url:
        _say(f"stream with a PostgreSQL live store: {args.rate:,.0f} records/s for {args.seconds:.0f} s")
        os.environ[LIVE_STORE_URL_ENV] = args.postgres_url
        try:
            runs["long-running Beam stream, PostgreSQL live store"] = measure(
                Workspace(server_home), records, args.rate, args.seconds, args.tick,
                urbanpulse_command(server_home, "stream", "requests", "--city", CITY, "--handover-seconds", "30"),
            )
        finally:
            del os.environ[LIVE_STORE_URL_ENV]
    if args.baseline_seconds > 0:
        _say(f"baseline, micro-batch driver: {args.rate:,.0f} records/s for {args.baseline_seconds:.0f} s")
        runs["micro-batch driver (baseline)"] = measure(
            workspace, records, args.rate, args.baseline_seconds, args.tick,
            [sys.executable, "-m", "bench.live", "--microbatch-driver", str(home)],
        )
    report = {"machine": machine_info(), "code": code_state(), "runs": runs,
              "settings": {"rate": args.rate, "seconds": args.seconds, "tick": args.tick,
                           "baseline_seconds": args.baseline_seconds,
                           "postgres": bool(args.postgres_url)}}
    save_report(OUT, "live_report", report, render(report))
    print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
