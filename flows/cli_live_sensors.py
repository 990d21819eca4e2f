"""`urbanpulse mqtt land`, `land sensors`, `stream sensors`: live sensors from the command line.

    urbanpulse mqtt land --city C [--url mqtt://host:1883/sensors/#] [--for S]   MQTT -> landing logs
    urbanpulse land sensors FILE... --city C --source S     JSON lines or a JSON array of observations
    urbanpulse stream sensors --city C [--for S | --to-end] [--lateness-hours 6] [--stations FILE]

Without `--url`, `mqtt land` starts an embedded broker on 127.0.0.1 (port 1883 unless `--port`)
and lands what is published to it. Registered after `flows.cli_live`, whose `land` and `stream`
groups it adds to.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from flows.cli_steps import done, step
from plumbing.workspace import Workspace
from schemas import ledger


def register(commands, groups) -> None:
    """`mqtt land`, and `sensors` under the `land` and `stream` groups of `flows.cli_live`."""
    if "land" not in groups or "stream" not in groups:
        raise RuntimeError("flows.cli_live_sensors must come after flows.cli_live in COMMAND_MODULES")
    mqtt = commands.add_parser("mqtt", help="sensor observations over MQTT").add_subparsers(dest="what", required=True)
    lander = mqtt.add_parser("land", help="land MQTT messages into the city's sensor landing logs until stopped")
    lander.add_argument("--city", default="demo")
    lander.add_argument("--url", help="mqtt://host:port/topic/# (default: an embedded broker on 127.0.0.1)")
    lander.add_argument("--port", type=int, default=1883, help="port of the embedded broker")
    lander.add_argument("--source", help="landing source of every message (default: the topic's first level)")
    lander.add_argument("--for", dest="seconds", type=float, help="stop by itself after this many seconds")
    lander.set_defaults(handler=mqtt_land)

    land = groups["land"].add_parser("sensors", help="land files of observations (JSON lines or a JSON array)")
    land.add_argument("paths", nargs="+", type=Path)
    land.add_argument("--city", default="demo")
    land.add_argument("--source", required=True, help="sensor landing log name")
    land.set_defaults(handler=land_sensors)

    stream = groups["stream"].add_parser("sensors", help="commit landed observations into the live figures")
    stream.add_argument("--city", default="demo")
    stream.add_argument("--lateness-hours", type=float, default=6.0,
                        help="observations of an hour this far behind the station's newest are refused")
    stream.add_argument("--stations", type=Path, help="stations file: names, coordinates (districts from them)")
    ends = stream.add_mutually_exclusive_group()
    ends.add_argument("--for", dest="seconds", type=float, help="stop by itself after this many seconds")
    ends.add_argument("--to-end", action="store_true", help="commit what has landed so far, then stop")
    stream.set_defaults(handler=stream_sensors)


def file_messages(path: Path) -> list[bytes]:
    """A file's observations as messages: a JSON array is one, JSON lines one per line."""
    text = path.read_bytes()
    if text.lstrip().startswith(b"["):
        return [text]
    return [line for line in text.splitlines() if line.strip()]


def land_sensors(args, _extra, workspace: Workspace) -> int:
    """`urbanpulse land sensors`: each file one segment of the sensor log (unreadable lines land as
    unreadable rows, dead letters of the stream)."""
    from pipelines.stream_sensors import SensorSettings, land_observations
    from plumbing.sensor_landing import SensorLandingLog, sensor_source

    settings, source = SensorSettings(workspace, args.city), sensor_source(args.source)
    for path in args.paths:
        if not path.is_file():
            raise FileNotFoundError(f"observation file not found: {path}")
        started = step(f"landing observations of {path} into {source!r} of city {args.city!r}")
        segments = land_observations(settings, source, file_messages(path), f"file:{path.name}")
        done(started)
        print(f"   segments {segments[0]}..{segments[-1]}" if segments else "   no observations")
    print(f"sensor landing log {SensorLandingLog(settings.landing, source).root}")
    return 0


def mqtt_land(args, _extra, workspace: Workspace) -> int:
    """`urbanpulse mqtt land`: run the lander (and, without --url, the embedded broker) until stopped."""
    from contextlib import ExitStack

    from pipelines.land_sensors import EmbeddedBroker, MqttLander

    with ExitStack() as running:
        url = args.url or running.enter_context(EmbeddedBroker(port=args.port)).url
        lander = running.enter_context(MqttLander(workspace.landing(args.city), url, source=args.source))
        print(f"-> landing {url} into the sensor logs of city {args.city!r} (Ctrl-C stops)", flush=True)
        deadline = time.monotonic() + args.seconds if args.seconds else None
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        print(f"messages landed {lander.messages_landed:,}, observations {lander.rows_landed:,}", flush=True)
    return 0


def stream_sensors(args, extra, workspace: Workspace) -> int:
    """`urbanpulse stream sensors`: commit landed observations until stopped (or, `--to-end`, up to now)."""
    from pipelines.stopping import stopping_after
    from pipelines.stream_sensors import SensorSettings, catch_up, stream

    settings = SensorSettings(workspace, args.city, lateness=timedelta(hours=args.lateness_hours),
                              stations=args.stations, beam_args=extra)
    if args.to_end:
        report = catch_up(settings)
    else:
        print(f"-> committing the observations of {', '.join(settings.source_names())} into {settings.store_path} "
              "(Ctrl-C stops)", flush=True)
        with stopping_after(args.seconds):
            report = stream(settings)
    c = report.counters
    print(f"observations in {c[ledger.RECORDS_IN]:,}: accepted {c[ledger.RECORDS_OUT]:,}, dead letters "
          f"{c[ledger.DEAD_LETTERS]:,}; offsets {report.offsets}; {report.seconds:.1f} s")
    return 0
