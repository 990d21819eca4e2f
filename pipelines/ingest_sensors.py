"""Batch pipeline: sensor files -> normalised, quality-controlled observations, hourly and daily figures.

    read (uci | wide-daily | sensorthings | mqtt-json | csv | jsonl | parquet) -> raw observation batches
        -> NormaliseObservations (canonical parameters and units, UTC periods, DST rule) -> dead letters
        -> WriteSensorDatasets: per station, merged with the published observations of the dates
           it touches, QC-flagged, aggregated hourly and daily (coverage, the 75% rule, mda8),
           placed in its district; each partition rewritten with the run's rows
    stations (--stations file, or the SensorThings Things) -> sensor_stations

Everything is written into the city's publishing transaction (`pipelines.batch_runs.publishing_run`)
and becomes visible in one step; records in = observations kept + dead letters, or nothing is
published. A city pack is optional: without one, stations are not placed in districts and the
local day is taken in `--timezone` (default UTC).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions

from models.cities.errors import CityPackError
from models.cities.pack import CityPack
from models.geocoding.reverse import ReverseGeocoder
from pipelines.batch_runs import (
    IngestReport,
    SuspiciousInputError,
    check_accounting,
    checked_inputs,
    distinct_inputs,
    new_run_id,
    publishing_run,
    run_counters,
)
from pipelines.runners import batch_runner
from pipelines.sinks.dead_letters import WriteDeadLetters
from pipelines.sinks.sensors import DATASETS as SENSOR_SINK_DATASETS
from pipelines.sinks.sensors import PLACE_COLUMNS, WriteSensorDatasets, write_stations
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.sensors.mqtt_json import read_mqtt_json
from pipelines.sources.sensors.sensorthings import read_sensorthings, sensorthings_stations
from pipelines.sources.sensors.stations import match_station_ids, read_stations
from pipelines.sources.sensors.tables import load_sensor_mapping, read_table
from pipelines.sources.sensors.uci import UCI_UNITS, read_uci
from pipelines.sources.sensors.wide_daily import MADRID_PARAMETERS, read_snapshots, read_wide_daily
from pipelines.transforms.sensors.normalise import DEAD, OBSERVATIONS, NormaliseObservations
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import ledger
from schemas import sensors as sn
from schemas.requests import LAT, LONG

LOG = logging.getLogger("urbanpulse")
FORMATS = sn.SENSOR_FORMATS
SENSOR_COUNTERS = (ledger.RECORDS_IN, ledger.RECORDS_OUT, ledger.DEAD_LETTERS)
SENSOR_REPORTED = (*ds.SENSOR_DATASETS, ds.DEAD_LETTERS)
DEFAULT_UNITS = {"uci": UCI_UNITS, "wide-daily": {name: unit for name, unit in MADRID_PARAMETERS.values()},
                 "sensorthings": {}, "mqtt-json": {}, "csv": {}, "jsonl": {}, "parquet": {}}
TABLES = ("csv", "jsonl", "parquet")
CHECK_ROWS = 1_000  # rows of each file read before a run starts, to catch a wrong format
READERS = {"uci": read_uci, "sensorthings": read_sensorthings, "mqtt-json": read_mqtt_json}


class SensorOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--sensor_input", action="append", default=None, help="sensor file (repeatable)")
        parser.add_argument("--sensor_format", default="uci", help=" | ".join(FORMATS))
        parser.add_argument("--sensor_stations", default=None, help="stations file (coordinates)")
        parser.add_argument("--sensor_mapping", default=None, help="TOML mapping of a csv / jsonl / parquet table")
        parser.add_argument("--sensor_timezone", default=None, help="local time zone (default: the city pack's)")
        parser.add_argument("--sensor_city", default=None)
        parser.add_argument("--sensor_home", default=None)
        parser.add_argument("--sensor_rows", type=int, default=500_000)


def sensor_argv(paths: list[str], city: str, home: str, fmt: str = "uci", stations: str | None = None,
                timezone: str | None = None, beam_args: list[str] | None = None,
                mapping: str | None = None) -> list[str]:
    argv = [f"--sensor_input={p}" for p in paths] + [f"--sensor_city={city}", f"--sensor_home={home}",
                                                     f"--sensor_format={fmt}"]
    argv += [f"--sensor_stations={stations}"] if stations else []
    argv += [f"--sensor_timezone={timezone}"] if timezone else []
    argv += [f"--sensor_mapping={mapping}"] if mapping else []
    return argv + list(beam_args or [])


class _ReadSensorFiles(beam.DoFn):
    def __init__(self, fmt: str, rows: int, mapping: str | None = None) -> None:
        self.fmt, self.rows, self.mapping = fmt, rows, mapping
        self.records_in = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_IN)

    def process(self, paths: list[str]):
        for batch in _read_group(paths, self.fmt, self.rows, self.mapping):
            self.records_in.inc(batch.height)
            yield batch


def _read_group(paths: list[str], fmt: str, rows: int, mapping: str | None = None):
    if fmt in TABLES:
        table_mapping = load_sensor_mapping(Path(mapping) if mapping else None)
        yield from read_table(Path(paths[0]), rows, replace(table_mapping, format=table_mapping.format or fmt))
    elif fmt == "wide-daily":  # snapshots of the same days, merged hour by hour, in the given order
        merged = read_snapshots([Path(p) for p in paths], rows)
        yield from (merged.slice(start, rows) for start in range(0, merged.height, rows))
    else:
        yield from READERS[fmt](Path(paths[0]), rows)


def file_groups(inputs: list[str], fmt: str) -> list[list[str]]:
    """Wide daily files are snapshots that supersede each other: read together, in order."""
    return [inputs] if fmt == "wide-daily" else [[p] for p in inputs]


def stations_of(options: SensorOptions, inputs: list[str]) -> pl.DataFrame | None:
    if options.sensor_stations:
        return read_stations(Path(options.sensor_stations))
    if options.sensor_format == "sensorthings":
        return pl.concat([sensorthings_stations(Path(p)) for p in inputs], how="vertical_relaxed").unique(
            sn.STATION_ID, keep="first", maintain_order=True)
    return None


def observed_station_ids(inputs: list[str], fmt: str, rows: int, mapping: str | None = None) -> list[str]:
    """The station ids the inputs name (a first, narrow pass: they decide the places and which
    stations are known before the pipeline starts)."""
    table_mapping = load_sensor_mapping(Path(mapping) if mapping else None)
    column = {"uci": "station", "csv": table_mapping.columns.get(sn.STATION_ID, sn.STATION_ID)}.get(fmt)
    if column and (fmt == "uci" or (table_mapping.format or fmt) == "csv"):
        try:  # one column of a large CSV, read by polars
            return sorted(pl.concat([pl.scan_csv(p, infer_schema=False, separator=table_mapping.separator
                                                 if fmt == "csv" else ",").select(column).unique().collect()
                                     for p in inputs])[column].drop_nulls().unique().to_list())
        except (pl.exceptions.PolarsError, OSError):
            pass  # read like the pipeline does, where a broken file becomes unreadable rows or a clear error
    found: set[str] = set()
    for group in file_groups(inputs, fmt):
        for batch in _read_group(group, fmt, rows, mapping):
            found |= set(batch[sn.STATION_ID].drop_nulls().unique().to_list())
    return sorted(found)


def station_places(stations: pl.DataFrame | None, observed: list[str], pack: CityPack | None) -> tuple[pl.DataFrame, dict]:
    """The run's stations under the ids the observations use, with coordinates and district
    (a station the stations file does not list keeps null coordinates)."""
    frame = pl.DataFrame({sn.STATION_ID: observed}, schema={sn.STATION_ID: pl.String})
    if stations is not None and stations.height:
        mapping, _unmatched = match_station_ids(observed, stations)
        known = stations.rename({sn.STATION_ID: "_listed"})
        frame = frame.with_columns(pl.col(sn.STATION_ID).replace_strict(mapping, default=None).alias("_listed")).join(
            known, on="_listed", how="left").drop("_listed")
    for column in (sn.STATION_NAME, LAT, LONG):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Float64 if column != sn.STATION_NAME else pl.String).alias(column))
    if pack is not None and frame[LAT].is_not_null().any():
        located = ReverseGeocoder(pack).predict_batch(frame[LAT], frame[LONG]).select(PLACE_COLUMNS)
        frame = pl.concat([frame, located], how="horizontal")
    else:
        frame = frame.with_columns(*[pl.lit(None, pl.String).alias(c) for c in PLACE_COLUMNS])
    return frame, {row[sn.STATION_ID]: row for row in frame.iter_rows(named=True)}


def known_stations(stations: pl.DataFrame | None, observed: list[str]) -> set[str] | None:
    """With a stations file, the observed ids it lists (others: dead letters unknown_station)."""
    if stations is None or not stations.height:
        return None
    mapping, _unmatched = match_station_ids(observed, stations)
    return set(mapping)


def build_pipeline(pipeline, inputs: list[str], options: SensorOptions, workspace: Workspace, transaction,
                   input_ids: dict[str, str], timezone: str, places: dict, known: set[str] | None,
                   started: datetime) -> None:
    normalised = (
        pipeline
        | "ListSensorFiles" >> beam.Create(file_groups(inputs, options.sensor_format))
        | "ReadSensorFiles" >> beam.ParDo(_ReadSensorFiles(options.sensor_format, options.sensor_rows,
                                                           options.sensor_mapping))
        .with_output_types(pl.DataFrame)
        | "NormaliseObservations" >> NormaliseObservations(timezone, DEFAULT_UNITS[options.sensor_format],
                                                           known, started)
    )
    datasets = {kind: transaction.dataset(name) for kind, name in SENSOR_SINK_DATASETS.items()}
    _ = normalised[OBSERVATIONS] | "WriteSensorDatasets" >> WriteSensorDatasets(
        datasets, timezone, places, transaction.scratch("sensor_months"))
    _ = normalised[DEAD] | "WriteDeadLetters" >> WriteDeadLetters(
        transaction.dataset(ds.DEAD_LETTERS), workspace.restricted_dead_letters(options.sensor_city), input_ids)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise SourceFormatError(f"--format {fmt!r} is not a sensor format; use one of {', '.join(FORMATS)}")


def check_inputs(paths: list[Path], fmt: str, mapping: Path | None = None, stations: Path | None = None) -> None:
    """Raise what a run of these files cannot get past, from each file's first rows: an unknown
    format, a mapping or stations file that does not parse, a file that is not in `fmt`. The CLI
    calls it before Prefect starts, so a wrong file is one clear line, not a failed flow's log."""
    _check_format(fmt)
    if stations is not None:
        read_stations(stations)
    for path in paths:
        first = (read_wide_daily(path, CHECK_ROWS) if fmt == "wide-daily"
                 else _read_group([str(path)], fmt, CHECK_ROWS, str(mapping) if mapping else None))
        next(iter(first), None)


def run(argv: list[str] | None = None) -> IngestReport:
    options = PipelineOptions(argv)
    sensors = options.view_as(SensorOptions)
    _check_format(sensors.sensor_format)
    workspace = Workspace.resolve(sensors.sensor_home)
    inputs, input_ids = distinct_inputs(checked_inputs(sensors.sensor_input))
    try:
        pack = CityPack.load(workspace.city(sensors.sensor_city))
    except CityPackError:
        pack = None
    timezone = sensors.sensor_timezone or (pack.timezone if pack else "UTC")
    observed = observed_station_ids(inputs, sensors.sensor_format, sensors.sensor_rows, sensors.sensor_mapping)
    listed = stations_of(sensors, inputs)
    stations, places = station_places(listed, observed, pack)
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    runner = batch_runner(options)
    workspace.make_restricted()
    with publishing_run(workspace, sensors.sensor_city, run_id, f"sensor ingest {run_id}", input_ids) as transaction:
        pipeline = beam.Pipeline(runner=runner, options=options)
        build_pipeline(pipeline, inputs, sensors, workspace, transaction, input_ids, timezone, places,
                       known_stations(listed, observed), started)
        result = pipeline.run()
        result.wait_until_finish()
        write_stations(transaction.dataset(ds.SENSOR_STATIONS), stations)
        report = IngestReport(
            run_id=run_id, city=sensors.sensor_city, inputs=inputs, counters=run_counters(result, SENSOR_COUNTERS),
            datasets=workspace.published_datasets(sensors.sensor_city, SENSOR_REPORTED),
            started_at=started.isoformat(), seconds=(datetime.now(UTC) - started).total_seconds(),
        )
        check_accounting(report, workspace.runs)
    if report.records_in == 0:
        raise SuspiciousInputError(f"read 0 observations from {', '.join(Path(p).name for p in inputs)} as "
                                   f"--format {sensors.sensor_format}: is it the right format?")
    return report
