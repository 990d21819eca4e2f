"""The `urbanpulse` command: build city packs, generate feeds, ingest exports, run the demo.

Options are parsed here, once; everything below receives typed values. Unknown options of
`ingest requests` (`--runner`, `--direct_num_workers`, ...) pass through to Apache Beam.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
from pathlib import Path

from flows.cli_steps import (
    ENCODING_HELP,
    EXIT_INTERRUPTED,
    FORMATS_HELP,
    INTERRUPTED,
    done,
    step,
    stop_at_once_on_ctrl_c,
)
from flows.progress import MODES, progress_folder, shown_progress, wanted
from plumbing.disk import disk_full
from plumbing.workspace import Workspace
from schemas import ledger
from schemas import requests as rq

# Modules that add their own commands: each has `register(commands, groups)` (groups: the `train`,
# `ingest` and `generate` sub-commands, to add to) and sets a `handler`.
EXIT_DISK_FULL = 74  # EX_IOERR
BEAM_STEP = re.compile(r" \[while running '[^']*'\]")
COMMAND_MODULES = ("flows.cli_classify", "flows.cli_geocode", "flows.cli_live", "flows.cli_datasets",
                   "flows.cli_votes", "flows.cli_live_votes", "flows.cli_sensors",
                   "flows.cli_live_sensors", "flows.cli_cross", "flows.cli_sla", "flows.cli_open311", "flows.cli_flows", "flows.cli_cluster")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="urbanpulse", description=__doc__)
    parser.add_argument("--home", help="UrbanPulse home folder (default $URBANPULSE_HOME or ./urbanpulse-home)")
    commands = parser.add_subparsers(dest="command", required=True)

    city = commands.add_parser("city", help="city packs").add_subparsers(dest="action", required=True)
    create = city.add_parser("create", help="build a city pack from a districts GeoJSON")
    create.add_argument("name")
    create.add_argument("--boundaries", required=True, type=Path)
    create.add_argument("--name-field", required=True)
    create.add_argument("--id-field")
    create.add_argument("--parent-field", help="district property with the parent id (or the parents file's id)")
    create.add_argument("--parent-name-field", help="property with the parent's name")
    create.add_argument("--parents", type=Path, help="GeoJSON of the parent level (boroughs, okrugs)")
    create.add_argument("--population-field")
    create.add_argument("--taxonomy", type=Path, help="CSV: category,department,sla_days[,label_en,label_ru]")
    create.add_argument("--timezone", default="UTC", help="IANA time zone of the city (local dates)")
    city.add_parser("demo", help="build the synthetic demo city")

    generate = commands.add_parser("generate", help="synthetic feeds").add_subparsers(dest="what", required=True)
    gen_requests = generate.add_parser("requests", help="generated citizen requests")
    gen_requests.add_argument("--city", default="demo")
    gen_requests.add_argument("--count", type=int, default=10_000)
    gen_requests.add_argument("--seed", type=int, default=0)
    gen_requests.add_argument("--out", type=Path, required=True)
    gen_requests.add_argument("--format", default=None, choices=["csv", "jsonl", "parquet", "open311-json"])

    ingest = commands.add_parser("ingest", help="batch ingestion").add_subparsers(dest="what", required=True)
    ingest_requests = ingest.add_parser("requests", help="ingest request exports into the datasets")
    ingest_requests.add_argument("paths", nargs="+", type=Path)
    ingest_requests.add_argument("--city", required=True, help="city pack name under cities/ in the home folder")
    ingest_requests.add_argument("--format", default="csv", help=FORMATS_HELP)
    ingest_requests.add_argument("--mapping", type=Path)
    ingest_requests.add_argument("--encoding", help=ENCODING_HELP)
    ingest_requests.add_argument("--source")
    ingest_requests.add_argument("--model", type=Path)
    ingest_requests.add_argument("--no-prefect", action="store_true", help="run the pipeline without a flow")
    ingest_requests.add_argument("--progress", choices=MODES, default="auto",
                                 help="progress line on stderr: auto (only on a terminal), always, never")

    train = commands.add_parser("train", help="train models").add_subparsers(dest="what", required=True)
    groups = {"train": train, "ingest": ingest, "generate": generate, "city": city}
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands, groups)

    demo = commands.add_parser("demo", help="the whole demo: city, model, requests, datasets")
    demo.add_argument("--count", type=int, default=200_000)
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--ballots", type=int, default=200_000, help="ballots of the demo's vote (0 skips it)")
    demo.add_argument("--stations", type=int, default=20, help="sensor stations of the demo (0 skips them)")
    demo.add_argument("--sensor-rate", type=float, default=100.0, help="observations published per second over "
                                                                        "MQTT in the live part")
    demo.add_argument("--live-seconds", type=float, default=None,
                      help="how long the live part runs (default: until Ctrl-C in a terminal, else 60 s; 0 skips it)")
    demo.add_argument("--live-rate", type=float, default=200.0, help="requests landed per second in the live part")
    demo.add_argument("--port", type=int, default=8000, help="port of the live feed")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, extra = _parser().parse_known_args(argv)
    if extra and args.command != "ingest":
        _parser().error(f"unrecognised arguments: {' '.join(extra)}")
    workspace = Workspace.resolve(args.home)
    from flows.settings import configure_prefect

    configure_prefect(workspace.root)
    handler = getattr(args, "handler", None) or {
        "city": _city,
        "generate": _generate,
        "ingest": _ingest,
        "demo": _demo,
    }[args.command]
    quiet_runner_tracebacks()
    try:
        return handler(args, extra, workspace)
    except Exception as error:
        if disk_full(error):
            print(f"urbanpulse: error: the disk under {workspace.root} is full (or a file-size limit was "
                  "reached): free some space and run the command again; nothing of this run was published",
                  file=sys.stderr)
            return EXIT_DISK_FULL
        if not isinstance(error, (ValueError, OSError, RuntimeError)):
            raise
        print(f"urbanpulse: error: {without_step_name(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"urbanpulse: {INTERRUPTED}", file=sys.stderr)
        return EXIT_INTERRUPTED


def without_step_name(error: BaseException) -> str:
    """The error's message without the `[while running 'Step/ParDo(...)']` Beam appends to an
    error raised inside a step: the user needs what is wrong, not where in the pipeline."""
    return BEAM_STEP.sub("", str(error))


def quiet_runner_tracebacks() -> None:
    """Beam logs a failing step's traceback before it raises; the command prints the error itself
    (set URBANPULSE_DEBUG=1 to see them)."""
    if not os.environ.get("URBANPULSE_DEBUG"):
        for name in ("apache_beam.runners.common", "apache_beam.runners.worker", "apache_beam.runners.portability"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _city(args, _extra, workspace: Workspace) -> int:
    if args.action == "demo":
        from synthetic.demo_city import build_demo_city

        pack = build_demo_city(workspace.city("demo"))
    else:
        from models.cities.pack import CityPack

        pack = CityPack.create(
            args.name, workspace.city(args.name), args.boundaries, args.name_field,
            id_field=args.id_field, parent_field=args.parent_field,
            parent_name_field=args.parent_name_field, parents=args.parents,
            population_field=args.population_field, taxonomy=args.taxonomy, timezone=args.timezone,
        )
    parents = len({p for p in pack.parent_ids if p is not None})
    print(f"city pack {pack.name!r}: {len(pack.district_ids)} districts, {parents} parent areas, "
          f"{pack.taxonomy.height} taxonomy categories -> {pack.root}")
    return 0


def _generate(args, _extra, workspace: Workspace) -> int:
    from models.cities.pack import CityPack
    from synthetic.requests.generator import generate_requests, write_requests

    fmt = args.format or {".jsonl": "jsonl", ".parquet": "parquet", ".json": "open311-json"}.get(
        args.out.suffix, "csv"
    )
    started = step(f"generating {args.count:,} requests for {args.city!r} (seed {args.seed})")
    pack = CityPack.load(workspace.city(args.city))
    records, truth = generate_requests(pack, args.count, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_requests(records, args.out, fmt, truth=truth)
    done(started)
    print(f"wrote {records.height:,} records to {args.out} ({fmt})")
    return 0


def _ingest(args, extra, workspace: Workspace) -> int:
    from flows.ingest_checks import check_ingest

    setup = check_ingest(workspace, args.paths, args.city, args.format, args.mapping, args.model, args.encoding)
    paths = [str(p.resolve()) for p in args.paths]
    started = step(f"ingesting {len(paths)} file(s) into city {args.city!r}")
    for line in setup:
        print(f"   {line}", flush=True)
    progress = progress_folder(workspace.runs) if wanted(args.progress, sys.stderr) else None
    inputs = (
        paths, args.city, args.format, str(workspace.root),
        str(args.mapping) if args.mapping else None, args.source,
        str(args.model) if args.model else None,
        [*extra, f"--progress_dir={progress}"] if progress else extra,
    )
    with shown_progress(progress, sys.stderr):  # cleared before anything below is printed
        if args.no_prefect:
            from dataclasses import asdict

            from pipelines.ingest_requests import pipeline_argv, run

            report = asdict(run(pipeline_argv(*inputs, encoding=args.encoding)))
        else:
            from flows.ingest import ingest_requests

            with stop_at_once_on_ctrl_c():
                report = ingest_requests(*inputs, encoding=args.encoding)
    done(started)
    _print_report(report)
    return 0


def _demo(args, _extra, workspace: Workspace) -> int:
    from flows.demo import demo

    started = step(f"UrbanPulse demo in {workspace.root} ({args.count:,} requests)")
    result = demo(str(workspace.root), args.count, args.seed, args.ballots, args.stations)
    done(started)
    _print_report(result["report"])
    _print_summary(result["summary"])
    if result["votes"]:
        from flows.cli_votes import print_vote_report
        from flows.vote_summary import print_election

        print(f"\nparticipatory budget of city 'demo' ({args.ballots:,} generated ballots):")
        print_vote_report(result["votes"])
        for election in result["votes"]["summaries"]:
            print_election(election)
    if result["sensors"]:
        from flows.cli_sensors import print_sensor_report

        print(f"\nair quality and noise of city 'demo' ({args.stations} generated stations):")
        print_sensor_report(result["sensors"])
    if result["cross"]:
        from flows.cli_cross import print_cross_report

        print("\nrequests against sensors and residents:")
        print_cross_report(result["cross"])
    seconds = args.live_seconds if args.live_seconds is not None else (None if sys.stdin.isatty() else 60.0)
    if seconds != 0:
        from flows.live_demo import run_live_demo
        from flows.live_demo_sensors import LiveSensors
        from flows.live_demo_votes import LiveVote

        sensors = None
        if result["stations_file"]:
            sensors = LiveSensors(workspace, "demo", Path(result["stations_file"]), args.stations, args.seed,
                                  args.sensor_rate)
        vote = LiveVote(workspace, "demo", Path(result["votes"]["inputs"][0]), rate=500) if result["votes"] else None
        run_live_demo(workspace, "demo", args.live_rate, seconds, args.port, first_id=result["next_request_id"],
                      sensors=sensors, vote=vote)
    return 0


def _print_report(report: dict) -> None:
    c = report["counters"]
    print(f"records in {c[ledger.RECORDS_IN]:,} = out {c[ledger.RECORDS_OUT]:,} + dead letters "
          f"{c[ledger.DEAD_LETTERS]:,}  (accounting ok: {report[ledger.ACCOUNTING_OK]}); "
          f"{c[ledger.VERSIONS_SUPERSEDED]:,} re-sent versions merged, "
          f"{c[ledger.REQUEST_ROWS_PUBLISHED]:,} rows now in the request dataset of city {report['city']!r} "
          f"(earlier runs' rows included), {report['seconds']:.1f} s")
    for name, path in report["datasets"].items():
        print(f"  {name:<14} {path}")


def _print_summary(summary: dict) -> None:
    t = summary["totals"]
    print(f"\n{t['requests']:,} requests from {t['first_day']} to {t['last_day']}; "
          f"{t['placed_in_district']:,} placed in a district; "
          f"{(t['share_closed_within_sla'] or 0):.1%} of closed requests within SLA; "
          f"{(t['share_needs_review'] or 0):.1%} flagged for review; "
          f"{t['repeated_reports']:,} repeated reports linked ({t['problems']:,} distinct problems)")
    print("top districts:  " + ", ".join(f"{n} ({c:,})" for n, c in summary["top_districts"]))
    print("top categories: " + ", ".join(f"{n} ({c:,})" for n, c in summary["top_categories"]))
    print("dead letters:   " + (", ".join(f"{r} ({c:,})" for r, c in summary["dead_letters_by_reason"]) or "none"))
    requests = summary["datasets"]["requests"]
    python = Path(sys.executable)
    print("\ntry:")
    print(f"  {python} -c \"import polars as pl; print(pl.scan_parquet('{requests}/**/*.parquet', "
          f"hive_partitioning=True).group_by('{rq.CATEGORY}').agg(pl.len(), "
          f"pl.col('{rq.CLOSED_WITHIN_SLA}').mean()).sort('len').collect())\"")
    print(f"  {python} -c \"import duckdb; duckdb.sql(\\\"SELECT {rq.PARENT_NAME}, count(*) AS n, "
          f"avg({rq.HOURS_TO_CLOSE}) AS hours FROM read_parquet('{requests}/**/*.parquet', "
          f"hive_partitioning=true) GROUP BY ALL ORDER BY n DESC LIMIT 5\\\").show()\"")


if __name__ == "__main__":
    raise SystemExit(main())
