"""`urbanpulse ingest sensors`: station files into observations, hourly and daily figures."""

from __future__ import annotations

from pathlib import Path

from flows.cli_steps import done, step
from plumbing.workspace import Workspace
from schemas.sensors import SENSOR_FORMATS

FORMATS_HELP = ("uci (long hourly station tables: year,month,day,hour and a column per pollutant, as the UCI "
                "Beijing files), wide-daily (one row per station x pollutant x day with H01..H24 / V01..V24, as "
                "Madrid publishes them; several files are snapshots in order), sensorthings (OGC SensorThings "
                "API Observations), mqtt-json (recorded MQTT messages, one JSON message per line, read as the "
                "live lander reads them), or csv | jsonl | parquet (any table, through --mapping)")


def register(_commands, groups) -> None:
    ingest = groups["ingest"].add_parser("sensors", help="ingest sensor files: QC, hourly and daily figures")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--city", default="default", help="city pack name (districts, time zone); optional")
    ingest.add_argument("--format", required=True, choices=SENSOR_FORMATS, help=FORMATS_HELP)
    ingest.add_argument("--mapping", type=Path, help="TOML mapping of a csv / jsonl / parquet table "
                                                     "(default: columns station_id, parameter, period_start, value)")
    ingest.add_argument("--stations", type=Path, help="stations file with coordinates (TSV, Madrid list, CSV)")
    ingest.add_argument("--timezone", help="local time zone of the files and of the daily figures "
                                           "(default: the city pack's, else UTC)")
    ingest.add_argument("--no-prefect", action="store_true", help="run the pipeline without a flow")
    ingest.set_defaults(handler=ingest_sensor_files)


def ingest_sensor_files(args, extra, workspace: Workspace) -> int:
    from schemas import ledger

    missing = [str(p) for p in [*args.paths, *([args.stations] if args.stations else [])] if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"sensor files not found: {', '.join(missing)}")
    paths = [str(p.resolve()) for p in args.paths]
    started = step(f"ingesting {len(paths)} sensor file(s) into city {args.city!r}")
    inputs = (paths, args.city, str(workspace.root), args.format, str(args.stations) if args.stations else None,
              args.timezone, extra, str(args.mapping) if args.mapping else None)
    if args.no_prefect:
        from dataclasses import asdict

        from flows.sensors import daily_summary
        from pipelines.ingest_sensors import run, sensor_argv

        report = asdict(run(sensor_argv(*inputs)))
        report["summary"] = daily_summary(workspace, args.city)
    else:
        from flows.sensors import ingest_sensors

        report = ingest_sensors(*inputs)
    done(started)
    c = report["counters"]
    print(f"observations in {c[ledger.RECORDS_IN]:,} = kept {c[ledger.RECORDS_OUT]:,} + dead letters "
          f"{c[ledger.DEAD_LETTERS]:,}  (accounting ok: {report[ledger.ACCOUNTING_OK]}), {report['seconds']:.1f} s")
    for parameter, days, valid, mean in report["summary"]:
        shown = f", mean of valid days {mean:.1f}" if mean is not None else ""
        print(f"  {parameter:<12} {days:,} station-days, {valid:.0%} valid{shown}")
    for name, path in report["datasets"].items():
        print(f"  {name:<20} {path}")
    return 0
