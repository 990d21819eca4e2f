"""Open311 benchmark (`make bench-open311`): sustained `POST requests` from concurrent clients over
loopback while the stream runs; accepted reports a second, response times, and every accepted
report counted afterwards in the live store's Open311 view (and so in `GET requests`) and in the
published request dataset.

    python -m bench.open311_posts [--clients 32] [--seconds 30] [--drain-seconds 300] [--stream during|after]

`--stream after` starts the stream only once the posting ends (it then catches up from the
landing log): the intake's own rate, with the machine's two cores not shared with the stream,
as when the stream runs on a machine of its own.

`urbanpulse stream requests` and `urbanpulse serve` run in their own processes, as a city runs
them; the clients are asyncio tasks of this process, each posting one report after the other
(form-encoded, one API key with a rate limit high enough not to refuse any). The machine is
shared by whatever else runs on it: the report says what it was (load average), and gives the
same server's rate on a trivial call (`GET services`, same clients, same run) as the peer figure
the POST rate is read against.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import time
from pathlib import Path

import aiohttp
import httpx
import polars as pl

from bench.report import code_state, machine_info, save_report
from bench.workload import build_city
from flows.cli_steps import urbanpulse_command
from plumbing.api_keys import KeyStore
from plumbing.landing import LandingLog
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import live as lv
from schemas import open311 as o3
from schemas import requests as rq
from synthetic.replayer import recent_requests

OUT = Path(__file__).resolve().parent / "out"
REPO = Path(__file__).resolve().parents[1]
CITY = "demo"
PORT = 8766


def _say(message: str) -> None:
    print(f"[bench-open311] {message}", flush=True)


def _start(home: Path, log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(urbanpulse_command(home, *args), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=open(log, "w"))


def _in_dataset(workspace: Workspace, ids: list[str]) -> int:
    """How many of `ids` the published request dataset holds (what researchers and the feed read)."""
    folder = workspace.city_dataset(ds.REQUESTS, CITY)
    if not any(folder.rglob("*.parquet")):
        return 0
    published = pl.scan_parquet(folder / "**" / "*.parquet", hive_partitioning=True).select(rq.SERVICE_REQUEST_ID)
    return published.filter(pl.col(rq.SERVICE_REQUEST_ID).is_in(ids)).unique().collect().height


def _in_view(store: Path, ids: list[str]) -> int:
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        db.execute("CREATE TEMP TABLE wanted (id TEXT PRIMARY KEY)")
        db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", [(i,) for i in ids])
        return db.execute(f"SELECT count(*) FROM {lv.OPEN311_REQUESTS_TABLE.name} JOIN wanted "
                          f"ON {rq.SERVICE_REQUEST_ID} = wanted.id").fetchone()[0]
    finally:
        db.close()


async def _client(session: aiohttp.ClientSession, url: str, reports: list[dict], stop_at: float,
                  latencies: list[float], ids: list[str], refused: list[int]) -> None:
    number = 0
    while time.monotonic() < stop_at:
        fields = reports[number % len(reports)]
        number += 1
        started = time.perf_counter()
        async with session.post(url, data={k: str(v) for k, v in fields.items()}) as response:
            body = await response.read()
        latencies.append(time.perf_counter() - started)
        if response.status == 201:
            ids.append(json.loads(body)[0][rq.SERVICE_REQUEST_ID])
        else:
            refused.append(response.status)
            if len(refused) <= 3:
                _say(f"refused with {response.status}: {body[:300].decode(errors='replace')} (fields "
                     f"{ {k: str(v)[:60] for k, v in fields.items() if k != o3.API_KEY} })")


def _session(clients: int) -> aiohttp.ClientSession:
    """One connection per client. aiohttp, not httpx: httpx's async client spent about 15 ms of
    CPU per call at 32 concurrent connections here and made itself the bottleneck (60 GET/s
    where a raw-socket client got 3,400 from the same server)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients),
                                 timeout=aiohttp.ClientTimeout(total=30))


async def _peer(url: str, clients: int, seconds: float) -> float:
    """The same server's rate on a call that does almost nothing (`GET services`), in the same run:
    what the machine gives the server right now, to read the POST rate against."""
    answered = 0

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal answered
        while time.monotonic() < stop_at:
            async with session.get(url) as response:
                await response.read()
                answered += response.status == 200

    stop_at = time.monotonic() + seconds
    started = time.monotonic()
    async with _session(clients) as session:
        await asyncio.gather(*(one(session) for _ in range(clients)))
    return answered / (time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--drain-seconds", type=float, default=300.0)
    parser.add_argument("--home", type=Path, default=OUT / "open311-home")
    parser.add_argument("--stream", choices=("during", "after"), default="during",
                        help="run the stream while the clients post (default) or start it afterwards")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(args.home, ignore_errors=True)
    workspace = Workspace(args.home)
    pack = build_city(workspace)
    LandingLog(workspace.landing(CITY), o3.SOURCE).create()
    keys = KeyStore.of(workspace)
    _, key = keys.create("bench", rate_per_minute=10_000_000)
    keys.close()
    codes = pack.taxonomy["category"].to_list()
    rng = random.Random(7)
    reports = [{o3.API_KEY: key, rq.SERVICE_CODE: rng.choice(codes), rq.DESCRIPTION: row[rq.DESCRIPTION] or "",
                rq.LAT: row[rq.LAT], rq.LONG: row[rq.LONG], o3.EMAIL: f"resident{n}@example.org"}
               for n, row in enumerate(recent_requests(pack, 2_000, seed=3).drop_nulls([rq.LAT, rq.LONG])
                                       .iter_rows(named=True))]
    def start_stream() -> subprocess.Popen:
        return _start(args.home, OUT / "open311-stream.log", "stream", "requests", "--city", CITY)

    stream = start_stream() if args.stream == "during" else None
    serve = _start(args.home, OUT / "open311-serve.log", "serve", "--city", CITY, "--port", str(PORT))
    root = f"http://127.0.0.1:{PORT}{o3.ROOT}"
    store = workspace.live_store(CITY)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{root}/services.json", timeout=2).status_code == 200 and (
                        store.exists() or stream is None):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        _say(f"posting from {args.clients} clients for {args.seconds:.0f} s")
        latencies: list[float] = []
        ids: list[str] = []
        refused: list[int] = []
        started = time.monotonic()

        async def run() -> None:
            stop_at = time.monotonic() + args.seconds
            async with _session(args.clients) as session:
                await asyncio.gather(*(_client(session, f"{root}/requests.json", reports[i::args.clients] or reports,
                                               stop_at, latencies, ids, refused) for i in range(args.clients)))

        asyncio.run(run())
        elapsed = time.monotonic() - started
        peer = asyncio.run(_peer(f"{root}/services.json", args.clients, min(args.seconds, 10.0)))
        _say(f"{len(ids):,} accepted in {elapsed:.1f} s; waiting for the stream to show them all")
        stream = stream or start_stream()
        drain_started = time.monotonic()
        present = published = 0
        in_view_after = in_dataset_after = None
        while time.monotonic() - drain_started < args.drain_seconds:
            if in_view_after is None:
                present = _in_view(store, ids) if store.exists() else 0
                if present == len(ids):
                    in_view_after = time.monotonic() - drain_started
            else:  # the dataset publisher hands over every 30 s
                published = _in_dataset(workspace, ids)
                if published == len(ids):
                    in_dataset_after = time.monotonic() - drain_started
                    break
            time.sleep(0.5)
    finally:
        running = [p for p in (serve, stream) if p is not None]
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
    ordered = sorted(latencies)
    result = {
        "clients": args.clients, "stream": args.stream, "seconds": round(elapsed, 1), "accepted": len(ids),
        "refused": len(refused), "refused_by_status": {str(s): refused.count(s) for s in sorted(set(refused))},
        "accepted_per_second": round(len(ids) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else None,
        "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1) if ordered else None,
        "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 1) if ordered else None,
        "in_live_store_afterwards": present, "in_dataset_afterwards": published,
        "all_present": present == published == len(ids),
        "seconds_until_all_in_live_store": round(in_view_after, 1) if in_view_after is not None else None,
        "seconds_until_all_in_dataset": round(in_dataset_after, 1) if in_dataset_after is not None else None,
        "peer_get_services_per_second": round(peer, 1),
        "posts_per_peer_get": round(len(ids) / elapsed / peer, 2) if peer else None,
        "load_average": list(os.getloadavg()),
        "machine": machine_info(), "code": code_state(),
    }
    save_report(OUT, f"open311_posts_stream_{args.stream}", result)
    _say(json.dumps({k: v for k, v in result.items() if k not in ("machine", "code")}))
    return 0 if result["all_present"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
