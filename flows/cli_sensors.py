"""`urbanpulse ingest sensors`: station files into observations, hourly and daily figures;
`urbanpulse generate sensors`: a city's generated stations and observations to try it on."""

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
    register_generate(groups)


def ingest_sensor_files(args, extra, workspace: Workspace) -> int:
    from pipelines.ingest_sensors import check_inputs

    missing = [str(p) for p in [*args.paths, *([args.stations] if args.stations else [])] if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"sensor files not found: {', '.join(missing)}")
    check_inputs(args.paths, args.format, args.mapping, args.stations)
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
    print_sensor_report(report)
    return 0


def print_sensor_report(report: dict) -> None:
    from schemas import ledger

    c = report["counters"]
    print(f"observations in {c[ledger.RECORDS_IN]:,} = kept {c[ledger.RECORDS_OUT]:,} + dead letters "
          f"{c[ledger.DEAD_LETTERS]:,}  (accounting ok: {report[ledger.ACCOUNTING_OK]}), {report['seconds']:.1f} s")
    for parameter, days, valid, mean in report["summary"]:
        shown = f", mean of valid days {mean:.1f}" if mean is not None else ""
        print(f"  {parameter:<12} {days:,} station-days, {valid:.0%} valid{shown}")
    for name, path in report["datasets"].items():
        print(f"  {name:<20} {path}")


def register_generate(groups) -> None:
    generate = groups["generate"].add_parser(
        "sensors", help="generated stations and hourly observations of a city (diurnal cycles, planted faults)")
    generate.add_argument("--city", default="demo", help="city pack whose districts hold the stations")
    generate.add_argument("--stations", type=int, default=20)
    generate.add_argument("--days", type=int, default=30, help="days of hourly observations, ending today")
    generate.add_argument("--end", help="last day (YYYY-MM-DD, default today)")
    generate.add_argument("--format", dest="fmt", default="csv", choices=("csv", "uci", "mqtt-json"),
                          help="csv (station_id,parameter,period_start,value), uci (one file per station), "
                               "mqtt-json (MQTT messages, one per line, with late and repeated ones)")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--out", type=Path, required=True, help="folder for the files")
    generate.set_defaults(handler=generate_sensors)


def generate_sensors(args, _extra, workspace: Workspace) -> int:
    """`urbanpulse generate sensors`: stations.csv, the observations, and faults.parquet (the
    planted gaps, spikes, flatlines, duplicates and bad values, to check quality control by)."""
    from datetime import UTC, date, datetime, timedelta

    from models.cities.pack import CityPack
    from synthetic.sensors import (
        generate_observations,
        generate_stations,
        mqtt_messages,
        write_stations_csv,
    )
    from synthetic.sensors.formats import write_long_csv, write_uci_csv

    if args.stations < 1 or args.days < 1:
        raise ValueError("--stations and --days must be at least 1")
    pack = CityPack.load(workspace.city(args.city))
    last = date.fromisoformat(args.end) if args.end else datetime.now(UTC).date()
    start = datetime.combine(last - timedelta(days=args.days - 1), datetime.min.time(), UTC)
    started = step(f"generating {args.stations} stations x {args.days} days of city {args.city!r}")
    stations = generate_stations(pack, args.stations, seed=args.seed)
    generated = generate_observations(pack, stations, start, 24 * args.days, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    written = [write_stations_csv(stations, args.out / "stations.csv")]
    if args.fmt == "csv":
        written.append(write_long_csv(generated.observations, args.out / "observations.csv"))
    elif args.fmt == "uci":
        written += [write_uci_csv(generated.observations, station, args.out / f"uci_{station}.csv", pack.timezone)
                    for station in stations["station_id"]]
    else:
        path = args.out / "messages.jsonl"
        path.write_bytes(b"\n".join(mqtt_messages(generated.observations, seed=args.seed,
                                                  timezone=pack.timezone)) + b"\n")
        written.append(path)
    generated.truth.write_parquet(args.out / "faults.parquet")
    done(started)
    print(f"{generated.observations.height:,} observations, {generated.truth.height:,} planted faults; files:")
    for path in [*written, args.out / "faults.parquet"]:
        print(f"  {path}")
    files = f"{args.out}/uci_*.csv" if args.fmt == "uci" else str(written[1])
    print(f"next: urbanpulse ingest sensors {files} --city {args.city} --format {args.fmt} --stations {written[0]}")
    return 0
