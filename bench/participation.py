"""`make bench-participation`: vote files -> published tallies and outcomes, and the rules against pabutools.

1. Generated approval votes of the demo city (200,000 and 1,000,000 ballots): the whole
   `ingest votes` pipeline (read, validate, one ballot per voter, pseudonymise, place, tally,
   greedy, equal shares, turnout, publish) on FnApiRunner in this process, and the tallies alone
   (support entries, per project, per project and group, turnout).
2. The Warsaw sample (`../shared/data/participation/Poland_Warszawa_2026.pb`, skipped when absent)
   through pabutools and through UrbanPulse's rules in the same run: time ratio for MES and for
   greedy, and whether the selected sets are identical.

Medians of `--repeat` runs; the machine and the other CPU load are in the report.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from bench.measure import OtherCpu
from bench.report import code_state, machine_info, save_report
from models.participation.outcomes import (
    Instance,
    equal_shares,
    greedy_selection,
    lexicographic_tie_order,
)
from pipelines import ingest_votes
from pipelines.sources.participation.pabulib import read_pabulib
from pipelines.transforms.participation.tally import (
    group_tallies,
    project_tallies,
    support_entries,
    turnout,
    with_groups,
)
from plumbing.workspace import Workspace
from synthetic.demo_city import build_demo_city
from synthetic.participation.generator import generate_votes, write_pabulib

REPO = Path(__file__).resolve().parents[1]
WARSAW = REPO.parent / "shared" / "data" / "participation" / "Poland_Warszawa_2026.pb"
OUT = REPO / "bench" / "out"
SIZES = (200_000, 1_000_000)


def timed(block: Callable[[], object], repeat: int) -> tuple[float, list[float], float, object]:
    """(median seconds, all, other CPU seconds of the machine over all runs, last result)."""
    seconds, result = [], None
    with OtherCpu() as others:
        for _ in range(repeat):
            started = time.perf_counter()
            result = block()
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), seconds, others.seconds, result


def generated_votes(home: Path, repeat: int) -> list[dict]:
    workspace = Workspace(home)
    pack = build_demo_city(workspace.city("demo"))
    rows = []
    for size in SIZES:
        path = write_pabulib(generate_votes(pack, size, seed=size, kind="approval"), home / f"bench-{size}.pb")
        argv = ingest_votes.vote_argv([str(path)], "demo", str(home))
        median, runs, other, report = timed(lambda argv=argv: ingest_votes.run(argv), repeat)
        assert report.accounting_ok and report.records_out == size
        ballots, projects = _read_ballots(path)
        tally_median, tally_runs, _, _ = timed(lambda b=ballots, p=projects: _tallies(b, p), repeat)
        rows.append({"ballots": size, "file_mb": round(path.stat().st_size / 2**20, 1),
                     "end_to_end_seconds": median, "end_to_end_all": runs, "other_cpu_seconds": other,
                     "tally_seconds": tally_median, "tally_all": tally_runs})
        print(f"{size:>9,} ballots: end to end {median:.2f} s, tallies {tally_median:.3f} s", flush=True)
    return rows


def _read_ballots(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    parsed = read_pabulib(path)
    ballots = parsed.ballots.select(
        pl.col("vote").str.split(",").alias("choices"), pl.lit(None, pl.List(pl.Float64)).alias("points"),
        pl.col("age").cast(pl.Int16, strict=False), "sex", "voting_method", "neighborhood",
    )
    return ballots, parsed.projects.select("project_id")


def _tallies(ballots: pl.DataFrame, projects: pl.DataFrame) -> None:
    """The tally step on ballots already read and checked (what a live vote recomputes)."""
    grouped = with_groups(ballots)
    entries = support_entries(grouped)
    project_tallies(projects, entries)
    group_tallies(grouped, entries)
    turnout(grouped, {})


def warsaw_against_pabutools(repeat: int) -> dict | None:
    if not WARSAW.is_file():
        print(f"Warsaw sample not found at {WARSAW}: skipped the pabutools comparison")
        return None
    from pabutools.election import Cost_Sat, parse_pabulib
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    instance, profile = parse_pabulib(str(WARSAW))
    projects = sorted(instance, key=lambda p: p.name)
    index = {p.name: i for i, p in enumerate(projects)}
    voters, chosen = [], []
    for number, ballot in enumerate(profile):
        voters += [number] * len(ballot)
        chosen += [index[p.name] for p in ballot]
    import numpy as np

    names = [p.name for p in projects]
    ours = Instance(costs=np.array([float(p.cost) for p in projects]), budget=float(instance.budget_limit),
                    voters=np.array(voters), projects=np.array(chosen), utilities=None, n_voters=len(profile),
                    tie_order=lexicographic_tie_order(names))
    scores = np.bincount(ours.projects, minlength=len(projects)).astype(float)
    result = {}
    for rule, theirs, mine in (
        ("mes", lambda: method_of_equal_shares(instance, profile, sat_class=Cost_Sat), lambda: equal_shares(ours)),
        ("greedy", lambda: greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat),
         lambda: greedy_selection(ours.costs, scores, ours.budget, None, ours.tie_order)),
    ):
        their_s, _, _, their_set = timed(theirs, repeat)
        my_s, _, _, my_sel = timed(mine, repeat)
        same = {p.name for p in their_set} == {names[i] for i in np.flatnonzero(my_sel)}
        result[rule] = {"pabutools_seconds": their_s, "urbanpulse_seconds": my_s,
                        "ratio": their_s / my_s if my_s else None, "identical": same}
        print(f"Warsaw {rule}: pabutools {their_s:.3f} s, UrbanPulse {my_s:.4f} s "
              f"({their_s / my_s:.0f}x), identical selection: {same}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="urbanpulse-bench-votes-") as home:
        generated = generated_votes(Path(home), args.repeat)
    report = {"machine": machine_info(), "code": code_state(), "repeat": args.repeat,
              "generated": generated, "warsaw": warsaw_against_pabutools(args.repeat)}
    print(f"report: {save_report(args.out, 'participation_report', report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
