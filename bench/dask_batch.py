"""The batch job on a Dask cluster beside FnApiRunner, on the same generated feed, in one run.

Builds the demo city, trains the classifier and generates the feed as `bench.batch` does (its
functions), starts a scheduler and `--workers` worker processes (`pipelines.dask_cluster`, as
`urbanpulse cluster start` does), then alternates one ingest on FnApiRunner and one on the
cluster, `--repeat` times, and checks that both published the same datasets. Writes
dask_batch.{json,md}.

    python -m bench.dask_batch [--count 1000000] [--workers 2] [--repeat 1] [--out bench/out/dask]

Peak memory is the ingest process tree's; on Dask the work happens in the cluster's worker
processes, so their peak RSS (sampled) is reported beside it.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import threading
import time
from pathlib import Path

import polars as pl
import psutil

from bench.endtoend import run_urbanpulse
from bench.measure import QUIET_BUSY_SHARE, wait_for_quiet
from bench.report import code_state, machine_info, save_report
from bench.training import train_urbanpulse
from bench.workload import REPO_ROOT, BenchPaths, build_city, labelled_history, write_feed
from pipelines.dask_cluster import ClusterProcesses
from schemas import datasets as ds
from schemas import dead_letters as dl
from schemas import requests as rq

FEED_DAYS_BACK, HISTORY_DAYS_BACK = 60, 120
RUN_COLUMNS = (rq.INGESTED_AT, dl.FAILED_AT)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dask_batch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="rows in the benchmarked feed")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--history-count", type=int, default=50_000, help="labelled history rows")
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes (one thread each)")
    parser.add_argument("--repeat", type=int, default=1, help="ingests per runner (median)")
    parser.add_argument("--quiet-wait", type=float, default=60.0,
                        help="before each timed run, wait up to this many seconds for the machine to go idle")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "out" / "dask")
    return parser.parse_args(argv)


class PeakRss(threading.Thread):
    """The largest summed RSS of some processes (the cluster's), sampled every 0.2 s."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.processes = [psutil.Process(pid) for pid in pids]
        self.peak_mb, self.done = 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            total = 0
            for process in self.processes:
                try:
                    total += sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
                except psutil.Error:
                    continue
            self.peak_mb = max(self.peak_mb, total / 2**20)


def snapshot(paths: BenchPaths, into: Path) -> None:
    """Keeps the published datasets of the last run (the next run starts from an empty folder)."""
    shutil.rmtree(into, ignore_errors=True)
    shutil.copytree(paths.workspace.datasets.resolve(), into)


def same_datasets(left: Path, right: Path) -> dict[str, bool]:
    def frame(root: Path, name: str) -> pl.DataFrame:
        found = pl.scan_parquet(root / name / "**" / "*.parquet", hive_partitioning=True).collect()
        found = found.drop([c for c in RUN_COLUMNS if c in found.columns])
        return found.sort(sorted(c for c, t in found.schema.items() if not t.is_nested()), nulls_last=True)

    return {name: frame(left, name).equals(frame(right, name))
            for name in (ds.REQUESTS, ds.REQUEST_DAILY, ds.DEAD_LETTERS)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    paths = BenchPaths(args.out.resolve())
    shutil.rmtree(paths.out, ignore_errors=True)
    started = time.perf_counter()
    pack = build_city(paths.workspace)
    write_feed(pack, paths.history, args.history_count, args.seed + 1000, HISTORY_DAYS_BACK)
    train_urbanpulse(paths, labelled_history(paths.history))
    write_feed(pack, paths.feed, args.count, args.seed, FEED_DAYS_BACK)
    print(f"[{time.perf_counter() - started:6.1f} s] city, model and {args.count:,}-row feed ready", flush=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runs: dict[str, list[dict]] = {"FnApiRunner": [], "DaskRunner": []}
    with ClusterProcesses(workers=args.workers, port=port, log_dir=paths.out) as cluster:
        options = {"FnApiRunner": [], "DaskRunner": ["--runner=DaskRunner", f"--dask_address={cluster.address}"]}
        for attempt in range(1, args.repeat + 1):
            for runner, beam_args in options.items():
                busy = wait_for_quiet(args.quiet_wait)
                sampler = PeakRss([p.pid for p in cluster.processes])
                sampler.start()
                run = run_urbanpulse(paths, beam_args, attempt)
                sampler.done.set()
                runs[runner].append({"seconds": run.seconds, "peak_rss_mb": run.peak_rss_mb,
                                     "cluster_peak_rss_mb": sampler.peak_mb if runner == "DaskRunner" else None,
                                     "cpu_seconds": run.cpu_seconds, "other_cpu_seconds": run.other_cpu_seconds,
                                     "machine_busy_before": busy, "busy": busy >= QUIET_BUSY_SHARE,
                                     "counts": run.counts})
                print(f"[{time.perf_counter() - started:6.1f} s] {runner} run {attempt}: {run.seconds:.1f} s, "
                      f"{run.peak_rss_mb:,.0f} MB (cluster {sampler.peak_mb:,.0f} MB)", flush=True)
                snapshot(paths, paths.out / f"published-{runner}")
    medians = {runner: statistics.median(r["seconds"] for r in found) for runner, found in runs.items()}
    counters = {runner: {k: v for k, v in found[-1]["counts"].items() if k != "pipeline_seconds"}
                for runner, found in runs.items()}
    report = {
        "rows": args.count, "workers": args.workers, "machine": machine_info(), "code": code_state(),
        "runs": runs, "seconds_median": medians, "dask_over_fnapi": medians["DaskRunner"] / medians["FnApiRunner"],
        "same_counters": counters["FnApiRunner"] == counters["DaskRunner"],
        "same_datasets": same_datasets(paths.out / "published-FnApiRunner", paths.out / "published-DaskRunner"),
    }
    lines = [f"# {args.count:,} requests: FnApiRunner vs DaskRunner ({args.workers} workers)", "",
             "| runner | wall s (median) | peak RSS MB (ingest) | peak RSS MB (cluster) |", "|---|---:|---:|---:|"]
    lines += [f"| {runner} | {medians[runner]:.1f} | {found[-1]['peak_rss_mb']:,.0f} | "
              f"{found[-1]['cluster_peak_rss_mb'] or 0:,.0f} |" for runner, found in runs.items()]
    lines += ["", (f"Dask / FnApi wall time: {report['dask_over_fnapi']:.2f}; same counters: {report['same_counters']}; "
              f"same datasets: {report['same_datasets']}; machine {report['machine']['nproc']} cores, shared.")]
    save_report(paths.out, "dask_batch", report, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if report["same_counters"] and all(report["same_datasets"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
