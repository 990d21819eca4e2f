"""`urbanpulse land | stream | replay | serve`: the live path from the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows.cli_steps import ENCODING_HELP, FORMATS_HELP, done, step
from plumbing.workspace import Workspace
from schemas import ledger


def register(commands, groups) -> None:
    land = commands.add_parser("land", help="append files to a landing log").add_subparsers(dest="what", required=True)
    land_requests = land.add_parser("requests", help="land request exports for the live path")
    land_requests.add_argument("paths", nargs="*", type=Path)
    land_requests.add_argument("--city", default="demo", help="whose landing logs (each city has its own)")
    land_requests.add_argument("--source", required=True, help="landing log name (letters, digits, . _ -)")
    land_requests.add_argument("--format", default="csv", help=FORMATS_HELP)
    land_requests.add_argument("--mapping", type=Path)
    land_requests.add_argument("--encoding", help=ENCODING_HELP)
    land_requests.set_defaults(handler=land_files)

    stream = commands.add_parser("stream", help="run the live pipeline").add_subparsers(dest="what", required=True)
    stream_requests = stream.add_parser("requests", help="follow the landing logs until stopped (Ctrl-C)")
    _live_options(stream_requests)
    stream_requests.add_argument("--for", dest="seconds", type=float, help="stop by itself after this many seconds")
    stream_requests.add_argument("--handover-seconds", type=float, default=30.0,
                                 help="how often enriched rows are merged into the Parquet datasets")
    stream_requests.set_defaults(handler=run_stream)
    groups.update(land=land, stream=stream)  # for `land votes`, `stream votes` (flows.cli_live_votes)

    replay = commands.add_parser("replay", help="rebuild live results from the landing log").add_subparsers(
        dest="what", required=True)
    replay_requests = replay.add_parser("requests", help="apply the landing log again up to its current end")
    _live_options(replay_requests)
    start = replay_requests.add_mutually_exclusive_group()
    start.add_argument("--from", dest="from_seq", type=int, help="first segment sequence number")
    start.add_argument("--since", type=datetime.fromisoformat, help="first segment landed at or after (ISO time)")
    replay_requests.add_argument("--rebuild", action="store_true", help="start from an empty live store")
    replay_requests.set_defaults(handler=run_replay)

    serve = commands.add_parser("serve", help="HTTP live feed: windows, KPIs, server-sent events")
    serve.add_argument("--city", default="demo")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--max-streams", type=int, default=100, help="open event streams at most (then 503)")
    serve.add_argument("--write-timeout", type=float, default=30.0,
                       help="seconds a client may take nothing before its connection is dropped")
    serve.add_argument("--lag-alarm-seconds", type=float, default=60.0,
                       help="/health answers 503 once a landed segment waits this long for the stream")
    serve.set_defaults(handler=run_server)


def _live_options(parser) -> None:
    parser.add_argument("--city", default="demo")
    parser.add_argument("--source", action="append", dest="sources", help="landing log to read (repeatable; default all)")
    parser.add_argument("--lateness-days", type=float, default=14.0, help="allowed lateness (default 14 days)")
    parser.add_argument("--retention-days", type=float, default=35.0,
                        help="windows, closed requests and dead letters the live store keeps behind the newest "
                             "landing (default 35 days; at least the lateness plus a day; older ones are in the datasets)")
    parser.add_argument("--model", type=Path, help="classifier artifact folder (default: the city's)")


def _settings(args, workspace: Workspace, extra: list[str]):
    from pipelines.stream_requests import LiveSettings

    return LiveSettings(
        workspace=workspace, city=args.city, sources=args.sources, lateness=timedelta(days=args.lateness_days),
        retention=timedelta(days=args.retention_days), handover_seconds=getattr(args, "handover_seconds", 30.0), model=args.model, beam_args=extra,
    )


def land_files(args, _extra, workspace: Workspace) -> int:
    from pipelines.land_requests import land_file
    from plumbing.landing import LandingLog

    log = LandingLog(workspace.landing(args.city), args.source).create(args.format, args.mapping, args.encoding)
    for path in args.paths:
        started = step(f"landing {path} into {args.source!r} of city {args.city!r}")
        segments = land_file(log, path, args.format, args.mapping, args.encoding)
        done(started)
        print(f"   segments {segments[0]}..{segments[-1]}" if segments else "   no records")
    print(f"landing log {log.root}: {log.end()} segments; inbox for more files: {log.inbox}")
    return 0


def run_stream(args, extra, workspace: Workspace) -> int:
    from pipelines.stopping import stopping_after
    from pipelines.stream_requests import stream

    settings = _settings(args, workspace, extra)
    print(f"-> streaming {', '.join(settings.source_names())} into {settings.store_path} (Ctrl-C stops)", flush=True)
    with stopping_after(args.seconds):
        report = stream(settings)
    _print_live(report)
    return 0


def run_replay(args, extra, workspace: Workspace) -> int:
    from pipelines.stream_requests import replay

    since = args.since.replace(tzinfo=args.since.tzinfo or UTC) if args.since else None
    started = step(f"replaying the landing log of city {args.city!r}")
    report = replay(_settings(args, workspace, extra), args.from_seq, since, args.rebuild)
    done(started)
    _print_live(report)
    return 0


def run_server(args, _extra, workspace: Workspace) -> int:
    from dashboard.limits import FeedLimits
    from dashboard.server import serve

    limits = FeedLimits(max_streams=args.max_streams, write_timeout=args.write_timeout,
                        lag_alarm_seconds=args.lag_alarm_seconds)
    print(f"live feed of {args.city!r}: http://{args.host}:{args.port}/api/v1/stream  "
          f"(API reference: http://{args.host}:{args.port}/docs)", flush=True)
    serve(workspace, args.city, args.host, args.port, limits)
    print("live feed stopped", flush=True)
    return 0


def _print_live(report) -> None:
    c = report.counters
    print(f"records in {c[ledger.RECORDS_IN]:,} = out {c[ledger.RECORDS_OUT]:,} + dead letters {c[ledger.DEAD_LETTERS]:,} "
          f"({c[ledger.TOO_LATE]:,} too late); offsets {report.offsets}; {report.seconds:.1f} s")
