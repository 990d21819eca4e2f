"""`make bench`: UrbanPulse's batch job against the pandas peer, on the same generated feed.

One invocation builds the demo city in a scratch home, trains both classifiers on the same
labelled history, generates the feed in both formats, runs each tool end to end in its own
process (wall time, peak RSS of the process tree), times every pipeline stage outside Beam,
scores both tools against the generator's truth, and writes batch_report.{json,md}.

    python -m bench.batch [--count 1000000] [--repeat 3] [--out bench/out] [BEAM OPTIONS...]

Options this command does not know (`--direct_num_workers=2`, ...) go to the Beam pipeline.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

from bench.accuracy import compare, read_peer, read_published, read_truth
from bench.checks import read_dead_letters, urbanpulse_checks
from bench.endtoend import EndToEndRun, run_peer, run_urbanpulse
from bench.markdown import render_markdown
from bench.measure import QUIET_BUSY_SHARE, OtherCpu, wait_for_quiet
from bench.report import code_state, machine_info, summarise_runs, write_report
from bench.stages import measure_stages
from bench.training import train_peer, train_urbanpulse
from bench.workload import (
    DEMO_CITY,
    FEED_DAYS,
    REPO_ROOT,
    BenchPaths,
    build_city,
    labelled_history,
    write_feed,
    write_peer_input,
)
from models.cities.pack import CityPack
from models.classification.request_classifier import default_model_dir

PEER_SCRIPT = Path("/work/shared/bench/peer_pandas.py")
HISTORY_DAYS_BACK = 120
FEED_DAYS_BACK = 60

_STARTED = time.perf_counter()


def _say(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:7.1f} s] {message}", flush=True)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.batch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=1_000_000, help="rows in the benchmarked feed")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the benchmarked feed")
    parser.add_argument("--days", type=int, default=FEED_DAYS,
                        help="days the feed spans (a backfill of years: more days, each as busy as a real city's)")
    parser.add_argument("--history-count", type=int, default=100_000, help="labelled history rows")
    parser.add_argument("--history-seed", type=int, default=3026)
    parser.add_argument("--repeat", type=int, default=3, help="end-to-end runs per tool (median)")
    parser.add_argument("--stage-repeat", type=int, default=None, help="default: --repeat")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "out")
    parser.add_argument("--peer", type=Path, default=PEER_SCRIPT, help="the peer script")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=180.0,
        help="before each timed run, wait up to this many seconds for other processes to go idle",
    )
    args, beam_args = parser.parse_known_args(argv)
    if args.repeat < 1 or (args.stage_repeat is not None and args.stage_repeat < 1):
        parser.error("--repeat and --stage-repeat must be at least 1")
    return args, beam_args


def prepare(paths: BenchPaths, args: argparse.Namespace) -> dict:
    """City, history, both models, the feed in both formats; returns the training figures."""
    for folder in (paths.workspace.root, paths.peer, paths.logs):
        shutil.rmtree(folder, ignore_errors=True)
    _say(f"building the demo city in {paths.workspace.root}")
    pack = build_city(paths.workspace)
    _say(f"generating {args.history_count:,} labelled history rows (seed {args.history_seed})")
    write_feed(pack, paths.history, args.history_count, args.history_seed, HISTORY_DAYS_BACK)
    history = labelled_history(paths.history)
    _say("training UrbanPulse's classifier")
    ours = train_urbanpulse(paths, history)
    _say(f"  {ours.seconds:.1f} s; training the peer's classifier")
    theirs = train_peer(paths, history, args.peer)
    _say(f"  {theirs.seconds:.1f} s; generating the {args.count:,}-row feed over {args.days} days (seed {args.seed})")
    write_feed(pack, paths.feed, args.count, args.seed, FEED_DAYS_BACK, args.days)
    blanked = write_peer_input(paths.feed, paths.peer_input)
    _say(f"  feed written; {blanked:,} unreadable request times left empty in the peer's copy")
    return {"urbanpulse": asdict(ours), "peer": asdict(theirs), "peer_blank_request_times": blanked}


def _measure_when_quiet(run: Callable[[], EndToEndRun], max_wait: float) -> EndToEndRun:
    busy = wait_for_quiet(max_wait)
    if busy >= QUIET_BUSY_SHARE:
        _say(f"  the machine is still {busy:.0%} busy with other processes; measuring anyway")
    return replace(run(), machine_busy_before=busy)


def _run_line(run: EndToEndRun) -> str:
    return (
        f"{run.seconds:.1f} s, {run.peak_rss_mb:,.0f} MB, own CPU {run.cpu_seconds:.0f} s, "
        f"other processes' CPU {run.other_cpu_seconds:.0f} s"
    )


def run_both(paths: BenchPaths, args: argparse.Namespace, beam_args: list[str]) -> dict:
    """Alternate the tools run by run, so drift of the machine touches both alike."""
    ours: list[EndToEndRun] = []
    theirs: list[EndToEndRun] = []
    for attempt in range(1, args.repeat + 1):
        _say(f"UrbanPulse end to end, run {attempt}/{args.repeat}")
        ours.append(
            _measure_when_quiet(partial(run_urbanpulse, paths, beam_args, attempt), args.quiet_wait)
        )
        _say(f"  {_run_line(ours[-1])}; peer end to end, run {attempt}/{args.repeat}")
        theirs.append(
            _measure_when_quiet(partial(run_peer, paths, args.peer, attempt), args.quiet_wait)
        )
        _say(f"  {_run_line(theirs[-1])}")
    summary = {"urbanpulse": summarise_runs(ours), "peer": summarise_runs(theirs)}
    summary["ratio_peer_over_urbanpulse"] = {
        "seconds": summary["peer"]["seconds_median"] / summary["urbanpulse"]["seconds_median"],
        "peak_rss_mb": summary["peer"]["peak_rss_mb_median"]
        / summary["urbanpulse"]["peak_rss_mb_median"],
    }
    summary["urbanpulse_rows_per_second"] = args.count / summary["urbanpulse"]["seconds_median"]
    summary["beam_options"] = beam_args
    return summary


def stage_figures(paths: BenchPaths, repeat: int, max_wait: float) -> dict:
    pack = CityPack.load(paths.workspace.city(DEMO_CITY))
    model_dir = default_model_dir(paths.workspace, DEMO_CITY)
    busy = wait_for_quiet(max_wait)
    with OtherCpu() as others:
        stages = measure_stages(paths.feed, pack, model_dir, paths.stage_scratch, repeat)
    rows = [
        asdict(s) | {"median_seconds": s.median_seconds, "rows_per_second": s.rows_per_second}
        for s in stages
    ]
    return {"stages": rows, "machine_busy_before": busy, "other_cpu_seconds": others.seconds}


def score(paths: BenchPaths, counters: dict) -> tuple[dict, dict]:
    pack = CityPack.load(paths.workspace.city(DEMO_CITY))
    truth = read_truth(paths.feed)
    published = read_published(paths.workspace.requests_dataset)
    peer = read_peer(paths.peer_output / "enriched", pack)
    dead = read_dead_letters(paths.workspace.dead_letters_dataset)
    return compare(truth, published, peer), urbanpulse_checks(truth, counters, published, dead)


def main(argv: list[str] | None = None) -> int:
    args, beam_args = parse_args(argv)
    paths = BenchPaths(args.out.resolve())
    machine, code_at_start = machine_info(), code_state()
    training = prepare(paths, args)
    end_to_end = run_both(paths, args, beam_args)
    _say("timing each stage outside Beam")
    stages = stage_figures(paths, args.stage_repeat or args.repeat, args.quiet_wait)
    _say("scoring both tools against the generator's truth")
    accuracy, checks = score(paths, end_to_end["urbanpulse"]["counts"])
    report = {
        "machine": machine,
        "code": {"at_start": code_at_start, "at_end": code_state()},
        "workload": {
            "feed_rows": args.count,
            "feed_seed": args.seed,
            "feed_days": args.days,
            "history_rows": args.history_count,
            "history_seed": args.history_seed,
        },
        "repeat": args.repeat,
        "training": training,
        "end_to_end": end_to_end,
        "stages": stages["stages"],
        "stage_conditions": {k: v for k, v in stages.items() if k != "stages"},
        "accuracy": accuracy,
        "urbanpulse_checks": checks,
        "bench_seconds": time.perf_counter() - _STARTED,
    }
    json_path, md_path = write_report(report, paths.out)
    print()
    print(render_markdown(report))
    print(f"report: {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
