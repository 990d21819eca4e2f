"""`urbanpulse cross streams`: a city's requests against its sensors and residents.

    urbanpulse cross streams --city C [--distance-m 2000] [--hours-before 6] [--hours-after 2]
                             [--rule standard|station_p95] [--no-prefect]

Publishes `request_sensor_context` (each request of an environmental category with the sensor
anomalies nearby and a `corroborated` flag) and `request_rates` (requests per 1,000 residents
per district and day), from the city's published requests and sensor figures.
"""

from __future__ import annotations

from flows.cli_steps import done, step
from plumbing.workspace import Workspace
from schemas.cross import AnomalyRule


def register(commands, _groups) -> None:
    cross = commands.add_parser("cross", help="join the streams of a city").add_subparsers(dest="what", required=True)
    streams = cross.add_parser("streams", help="requests against sensor anomalies nearby, and per 1,000 residents")
    streams.add_argument("--city", required=True)
    streams.add_argument("--distance-m", type=float, help="stations within this distance of a request (default 2000)")
    streams.add_argument("--hours-before", type=float, help="anomalies this long before a request count (default 6)")
    streams.add_argument("--hours-after", type=float, help="... and this long after it (default 2)")
    streams.add_argument("--rule", choices=AnomalyRule.ALL, help="an anomaly: above the WHO/EU value (standard, the "
                                                                 "default) or the station's own 95th percentile")
    streams.add_argument("--no-prefect", action="store_true", help="run the pipeline without a flow")
    streams.set_defaults(handler=cross_streams)


def cross_streams(args, extra, workspace: Workspace) -> int:
    options = {"distance_m": args.distance_m, "hours_before": args.hours_before, "hours_after": args.hours_after,
               "rule": args.rule}
    from pipelines.cross_streams import require_published_requests

    require_published_requests(workspace, args.city)  # before the flow: a clear line, not a flow's traceback
    started = step(f"joining the requests of city {args.city!r} with its sensors and residents")
    if args.no_prefect:
        from dataclasses import asdict

        from pipelines.cross_streams import cross_argv, run

        report = asdict(run(cross_argv(args.city, str(workspace.root), **options, beam_args=extra)))
    else:
        from flows.cross import cross_streams as flow

        report = flow(args.city, str(workspace.root), **options, beam_args=extra)
    done(started)
    print_cross_report(report)
    return 0


def print_cross_report(report: dict) -> None:
    environmental, corroborated = report["environmental"], report["corroborated"]
    share = f" ({corroborated / environmental:.0%})" if environmental else ""
    print(f"{report['requests']:,} requests counted per district and day; {environmental:,} of environmental "
          f"categories, {corroborated:,}{share} corroborated by a sensor anomaly nearby")
    for reason, count in sorted(report["reasons"].items()):
        print(f"  not corroborated, {reason}: {count:,}")
    for name, path in report["datasets"].items():
        print(f"  {name:<24} {path}")
