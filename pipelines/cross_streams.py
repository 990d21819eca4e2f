"""Batch pipeline across streams: a city's published requests against its sensors and residents.

    published requests (one file per local date)
        -> ReadRequests -> CountRequests -> AddCounts -> request_rates (pack populations)
        -> EnvironmentalChunks (categories mapped to sensor parameters, `chunk` requests each)
           -> MatchAnomalies (stations in range, hourly anomalies in the window)
           -> GatherContext -> request_sensor_context

It reads the city's files as they were when its publishing transaction began (the run's working
tree), recomputes both tables in full and publishes them in the same transaction
(`datasets/request_sensor_context/city=C/part-0.parquet`, `datasets/request_rates/city=C/
part-0.parquet`), so they always describe one snapshot of requests and sensors. Without a city
pack the rates have no populations (null rates).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import apache_beam as beam
import polars as pl
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from models.cities.errors import CityPackError
from models.cities.pack import CityPack
from models.cross.context import (
    PARAMETERS_COLUMN,
    ContextSettings,
    environmental_requests,
    finish_context,
    located_stations,
    request_sensor_context,
)
from models.cross.rates import add_counts, district_day_counts, request_rates
from pipelines.batch_runs import new_run_id
from plumbing.atomic import write_atomic
from plumbing.publishing import publishing
from plumbing.workspace import Workspace
from schemas import cross as cx
from schemas import datasets as ds
from schemas import requests as rq
from schemas import sensors as sn
from schemas.citypack import DISTRICT_ID, DISTRICT_NAME, POPULATION

LOG = logging.getLogger("urbanpulse")
PART_FILE = "part-0.parquet"
REQUEST_COLUMNS = (rq.SERVICE_REQUEST_ID, rq.CATEGORY, rq.REQUESTED_DATETIME, rq.LAT, rq.LONG, rq.DISTRICT_ID)
HOURLY_COLUMNS = (sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START, sn.MEAN, sn.VALID)
TRAILING_DAYS = 30  # history the station_p95 rule needs before a request's window


class CrossOptions(PipelineOptions):
    """The pipeline's options (`--cross_...`: Beam options are global, so the names are unique)."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--cross_city", default=None)
        parser.add_argument("--cross_home", default=None)
        parser.add_argument("--cross_distance_m", type=float, default=2_000.0, help="stations within (metres)")
        parser.add_argument("--cross_hours_before", type=float, default=6.0, help="window before a request")
        parser.add_argument("--cross_hours_after", type=float, default=2.0, help="window after a request")
        parser.add_argument("--cross_rule", default=cx.AnomalyRule.STANDARD, help=" | ".join(cx.AnomalyRule.ALL))
        parser.add_argument("--cross_chunk", type=int, default=2_000, help="requests per join with the stations")


def cross_argv(city: str, home: str, distance_m: float | None = None, hours_before: float | None = None,
               hours_after: float | None = None, rule: str | None = None, chunk: int | None = None,
               beam_args: list[str] | None = None) -> list[str]:
    """Command-line arguments of `run` (unset values keep the defaults)."""
    argv = [f"--cross_city={city}", f"--cross_home={home}"]
    for name, value in (("distance_m", distance_m), ("hours_before", hours_before),
                        ("hours_after", hours_after), ("rule", rule), ("chunk", chunk)):
        argv += [f"--cross_{name}={value}"] if value is not None else []
    return argv + list(beam_args or [])


@dataclass
class CrossReport:
    """What a run computed: requests counted, environmental ones, corroborated, reasons."""

    run_id: str
    city: str
    requests: int
    environmental: int
    corroborated: int
    reasons: dict[str, int]
    datasets: dict[str, str]
    settings: dict
    started_at: str
    seconds: float


def settings_of(options: CrossOptions) -> ContextSettings:
    """The matching settings the options give (checked by `ContextSettings`)."""
    return ContextSettings(distance_m=options.cross_distance_m, hours_before=options.cross_hours_before,
                           hours_after=options.cross_hours_after, rule=options.cross_rule,
                           chunk=options.cross_chunk)


def read_requests(path: str) -> pl.DataFrame:
    """One published request file: the columns the tables need, `date` from its partition."""
    frame = pl.read_parquet(path).select(REQUEST_COLUMNS)
    folder = Path(path).parent.name
    day = date.fromisoformat(folder.split("=", 1)[1]) if folder.startswith(f"{rq.REQUEST_DATE}=") else None
    return frame.with_columns(pl.lit(day, pl.Date).alias(rq.REQUEST_DATE))


def read_stations(folder: str) -> pl.DataFrame:
    """station_id, lat, long of the city's located stations (none before a sensor ingest)."""
    path = Path(folder) / PART_FILE
    empty = pl.DataFrame(schema={sn.STATION_ID: pl.String, rq.LAT: pl.Float64, rq.LONG: pl.Float64})
    return located_stations(pl.read_parquet(path)) if path.exists() else empty


def read_hourly(folder: str, start: datetime, end: datetime, parameters: list[str]) -> pl.DataFrame:
    """Valid-or-not hourly figures of `parameters` with period_start in [start, end]."""
    files = sorted(str(p) for p in Path(folder).rglob("*.parquet"))
    if not files:
        return pl.DataFrame(schema={sn.STATION_ID: pl.String, sn.PARAMETER: pl.String,
                                    sn.PERIOD_START: pl.Datetime("us", "UTC"), sn.MEAN: pl.Float64,
                                    sn.VALID: pl.Boolean})
    return (pl.scan_parquet(files, hive_partitioning=False).select(HOURLY_COLUMNS)
            .filter(pl.col(sn.PARAMETER).is_in(parameters), pl.col(sn.PERIOD_START).is_between(start, end))
            .collect())


class _MatchAnomalies(beam.DoFn):
    """A chunk of environmental requests -> their context rows (stations and the hours of the
    chunk's time span read from the run's working tree)."""

    def __init__(self, stations: str, hourly: str, settings: ContextSettings) -> None:
        self.stations, self.hourly, self.settings = stations, hourly, settings

    def setup(self) -> None:
        self.station_frame = read_stations(self.stations)

    def process(self, chunk: pl.DataFrame):
        s = self.settings
        history = timedelta(days=TRAILING_DAYS) if s.rule == cx.AnomalyRule.STATION_P95 else timedelta()
        start = chunk[rq.REQUESTED_DATETIME].min() - timedelta(hours=s.hours_before + 1) - history
        end = chunk[rq.REQUESTED_DATETIME].max() + timedelta(hours=s.hours_after)
        hourly = read_hourly(self.hourly, start, end, s.parameters)
        yield request_sensor_context(chunk, self.station_frame, hourly, s)


def _chunks(frame: pl.DataFrame, settings: ContextSettings):
    """The environmental requests of one file, `settings.chunk` at a time."""
    env = environmental_requests(frame, settings).drop(PARAMETERS_COLUMN)
    yield from (env.slice(start, settings.chunk) for start in range(0, env.height, settings.chunk))


def _write(table: pl.DataFrame, folder: str, schema: pa.Schema) -> None:
    """The city's one file of a dataset, replaced whole."""
    write_atomic(table.to_arrow().cast(schema), Path(folder) / PART_FILE, Path(folder), sync=False)


def districts_of(workspace: Workspace, city: str) -> pl.DataFrame:
    """district_id, district_name, population of the city pack (none without a pack)."""
    try:
        return CityPack.load(workspace.city(city)).districts_frame().select(DISTRICT_ID, DISTRICT_NAME, POPULATION)
    except CityPackError:
        LOG.warning("no city pack for %r: request rates without populations", city)
        return pl.DataFrame(schema={DISTRICT_ID: pl.String, DISTRICT_NAME: pl.String, POPULATION: pl.Float64})


def build_pipeline(pipeline, files: list[str], transaction, settings: ContextSettings,
                   districts: pl.DataFrame) -> None:
    """Both branches (rates, context) from the request files, writing into `transaction`."""
    requests = (pipeline | "ListRequestFiles" >> beam.Create(files)
                | "ReadRequests" >> beam.Map(read_requests))
    _ = (requests
         | "CountRequests" >> beam.Map(district_day_counts)
         | "AddCounts" >> beam.CombineGlobally(lambda parts: add_counts(list(parts)))
         | "WriteRates" >> beam.Map(lambda counts: _write(request_rates(counts, districts),
                                                          str(transaction.dataset(ds.REQUESTS_PER_1000)),
                                                          cx.REQUEST_RATE)))
    rule = settings.rule
    _ = (requests
         | "EnvironmentalChunks" >> beam.FlatMap(_chunks, settings)
         | "MatchAnomalies" >> beam.ParDo(_MatchAnomalies(str(transaction.dataset(ds.SENSOR_STATIONS)),
                                                          str(transaction.dataset(ds.SENSOR_HOURLY)), settings))
         | "GatherContext" >> beam.CombineGlobally(lambda parts: finish_context(list(parts), rule))
         | "WriteContext" >> beam.Map(lambda table: _write(table, str(transaction.dataset(ds.REQUEST_SENSOR_CONTEXT)),
                                                           cx.REQUEST_SENSOR_CONTEXT)))


def _report(workspace: Workspace, transaction, run_id: str, city: str, settings: ContextSettings,
            started: datetime) -> CrossReport:
    context = pl.read_parquet(transaction.dataset(ds.REQUEST_SENSOR_CONTEXT) / PART_FILE)
    rates = pl.read_parquet(transaction.dataset(ds.REQUESTS_PER_1000) / PART_FILE)
    reasons = context.drop_nulls(cx.REASON)[cx.REASON].value_counts()
    report = CrossReport(
        run_id=run_id, city=city, requests=int(rates[cx.REQUESTS].sum()), environmental=context.height,
        corroborated=int(context[cx.CORROBORATED].sum()),
        reasons=dict(zip(reasons[cx.REASON].to_list(), reasons["count"].to_list())),
        datasets=workspace.published_datasets(city, ds.CROSS_DATASETS),
        settings={k: v for k, v in asdict(settings).items() if k != "categories"},
        started_at=started.isoformat(), seconds=(datetime.now(UTC) - started).total_seconds())
    workspace.runs.mkdir(parents=True, exist_ok=True)
    (workspace.runs / f"{run_id}.json").write_text(json.dumps(asdict(report), indent=2))
    return report


def require_published_requests(workspace: Workspace, city: str) -> None:
    """The join reads the city's published requests: say what to do when there are none."""
    if not any(workspace.city_dataset(ds.REQUESTS, city).rglob("*.parquet")):
        raise ValueError(f"city {city!r} has no published requests in {workspace.root}: ingest its "
                         "requests (and sensors) first, then join them")


def run(argv: list[str] | None = None) -> CrossReport:
    """Compute and publish `request_sensor_context` and `request_rates` of one city."""
    options = PipelineOptions(argv)
    cross = options.view_as(CrossOptions)
    if not cross.cross_city:
        raise ValueError("no city: pass --cross_city=NAME")
    settings = settings_of(cross)
    workspace = Workspace.resolve(cross.cross_home)
    require_published_requests(workspace, cross.cross_city)
    districts = districts_of(workspace, cross.cross_city)
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    runner = None if options.view_as(StandardOptions).runner else FnApiRunner()
    with publishing(workspace, cross.cross_city, run_id, f"cross streams {run_id}") as transaction:
        files = sorted(str(p) for p in transaction.dataset(ds.REQUESTS).rglob("*.parquet"))
        pipeline = beam.Pipeline(runner=runner, options=options)
        build_pipeline(pipeline, files, transaction, settings, districts)
        pipeline.run().wait_until_finish()
        report = _report(workspace, transaction, run_id, cross.cross_city, settings, started)
    return report
