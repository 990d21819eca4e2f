"""Live sensors: observations landed from the city's sensor feeds -> live figures, in seconds.

    urbanpulse mqtt land --city C                 MQTT messages into the sensor landing logs
    urbanpulse land sensors FILE --city C --source S   files of observations into one of them
    urbanpulse stream sensors --city C            this pipeline, until stopped:

    the city's sensor sources -> ReadLandingSegments (SensorLandingLog; runs until stopped)
      -> CommitObservations, per segment: `normalise_observations` (the city pack's time zone,
         else UTC; its dead letters counted per reason), value QC (`transforms.sensors.live`),
         observations of an hour older than the allowed lateness behind the station's newest
         period refused `too_late`, a repeated observation replacing the earlier one, the hours,
         the latest readings and the alerts -> one transaction of the live store with the offset
         and a `sensors` change for the feed (`writer_sensors.commit_observations`)

The steps reuse the request stream's: the landing reader, the segment committer (offsets, a
segment committed once), the stop and restart signals (a new sensor source restarts the stream).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apache_beam as beam
import polars as pl
import pyarrow as pa
from apache_beam.metrics import Metrics

from models.cities.errors import CityPackError
from models.cities.pack import CityPack
from models.sensors.thresholds import EU_2008, WHO_2021
from pipelines.ingest_sensors import station_places
from pipelines.live_runs import catch_up_range, follow, run_live_pipeline
from pipelines.sinks.live_store import _SegmentCommitter
from pipelines.sources.landing import ReadLandingSegments
from pipelines.sources.sensors.mqtt_json import decode_message
from pipelines.sources.sensors.stations import read_stations
from pipelines.stream_requests import LiveReport, combined_report
from pipelines.transforms.sensors.live import segment_effect
from pipelines.transforms.sensors.normalise import normalise_observations
from plumbing.live_store import sensors as st
from plumbing.live_store.writer import LiveStore, SegmentLedger, writing_store
from plumbing.live_store.writer_sensors import (
    AlertRule,
    Checkpointer,
    SensorCommit,
    commit_observations,
    create_sensor_tables,
    register_stations,
)
from plumbing.sensor_landing import SensorLandingLog
from plumbing.workspace import Workspace
from schemas import dead_letters as dl
from schemas import ledger
from schemas import live_sensors as ls
from schemas import requests as rq
from schemas import sensors as sn

COUNTERS = (ledger.RECORDS_IN, ledger.RECORDS_OUT, ledger.DEAD_LETTERS)
# EU hourly limit values, WHO 2021 24-hour guidelines (models.sensors.thresholds.STANDARDS)
ALERT_RULES = (AlertRule("no2", EU_2008, "hour", 200.0), AlertRule("so2", EU_2008, "hour", 350.0),
               AlertRule("pm25", WHO_2021, "day", 15.0), AlertRule("pm10", WHO_2021, "day", 45.0))


@dataclass
class SensorSettings:
    workspace: Workspace
    city: str
    lateness: timedelta = ls.DEFAULT_SENSOR_LATENESS
    stations: Path | None = None  # a stations file: names, coordinates, districts
    sources: list[str] | None = None  # None: every sensor source, new ones too
    beam_args: list[str] = field(default_factory=list)

    @property
    def store_path(self) -> Path:
        """The city's live store (shared with the streams of requests and votes)."""
        return self.workspace.live_store(self.city)

    @property
    def landing(self) -> Path:
        """The city's landing root (sensor logs under `sensors/`)."""
        return self.workspace.landing(self.city)

    def pack(self) -> CityPack | None:
        """The city pack (districts, time zone), None when the city has none."""
        try:
            return CityPack.load(self.workspace.city(self.city))
        except CityPackError:
            return None

    def timezone(self) -> str:
        """The city pack's time zone, else UTC."""
        pack = self.pack()
        return pack.timezone if pack is not None else "UTC"

    def source_names(self, required: bool = True) -> list[str]:
        """The sensor sources followed: those given, else every sensor log of the city."""
        names = self.sources or SensorLandingLog.sources(self.landing)
        if not names and required:
            raise ValueError(f"no sensor observations landed in city {self.city!r} yet: land some with "
                             f"urbanpulse mqtt land --city {self.city} (or urbanpulse land sensors)")
        return sorted(names)


class _CommitObservations(_SegmentCommitter):
    """Commits each landed segment of observations into the live sensor figures, once."""

    reader = ls.SENSORS_READER
    log_class = SensorLandingLog

    def __init__(self, landing_root: str, store_path: str, timezone: str, lateness: timedelta) -> None:
        super().__init__(landing_root, store_path, timezone, lateness)
        self.observations_in = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_IN)
        self.dead = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.DEAD_LETTERS)

    def setup(self) -> None:
        """The store and its sensor tables, once per worker."""
        super().setup()
        create_sensor_tables(self.store.db)

    def commit(self, segment: SegmentLedger, frame: pl.DataFrame) -> pl.DataFrame:
        """Normalise, judge and commit one segment in one transaction; returns the rows accepted."""
        self.observations_in.inc(frame.height)
        observations, dead = normalise_observations(frame, self.timezone, None, None, datetime.now(UTC))
        newest = st.newest_periods(self.store.db, observations[sn.STATION_ID].unique().to_list())
        effect = segment_effect(observations, self.timezone, self.lateness, newest)
        reasons = dead[dl.REASON].value_counts()
        counts = dict(zip(reasons[dl.REASON], reasons["count"], strict=True))
        if effect.too_late:
            counts[dl.Reason.TOO_LATE] = effect.too_late
        segment.records_out = effect.observations.height
        commit = SensorCommit(segment, effect.observations, effect.latest, effect.stations, counts, effect.replaced)
        commit_observations(self.store, commit, self.reader, self.lateness, self.timezone, ALERT_RULES)
        self.dead.inc(sum(counts.values()))
        return effect.observations


def build_sensor_pipeline(pipeline: beam.Pipeline, settings: SensorSettings, sources: list[str],
                          start: dict[str, int], end: dict[str, int] | None) -> None:
    """The sensor logs of `sources` from `start` (to `end`, else until stopped), committed per segment."""
    _ = (
        pipeline
        | "SensorSources" >> beam.Create(sources)
        | "ReadSensorSegments" >> ReadLandingSegments(settings.landing, start, end, SensorLandingLog)
        | "CommitObservations" >> beam.ParDo(_CommitObservations(
            str(settings.landing), str(settings.store_path), settings.timezone(), settings.lateness))
    )


@contextmanager
def holding_sensors(settings: SensorSettings) -> Iterator[LiveStore]:
    """The live store for the stream of sensors: one per city (a lock file of its own beside the
    other streams'; SQLite serialises their transactions). A stations file is registered here."""
    busy = f"a stream of the sensors of city {settings.city!r} is already running"
    with writing_store(settings.store_path, ".sensors.lock", busy) as store:
        create_sensor_tables(store.db)
        if settings.stations is not None:
            listed = read_stations(settings.stations)
            places, _ = station_places(listed, listed[sn.STATION_ID].to_list(), settings.pack())
            register_stations(store, places.select(
                sn.STATION_ID, sn.STATION_NAME, rq.LAT, rq.LONG, rq.DISTRICT_ID, rq.DISTRICT_NAME))
        yield store


def _run(settings: SensorSettings, sources: list[str], start: dict[str, int], end: dict[str, int] | None) -> LiveReport:
    counters, offsets, seconds = run_live_pipeline(
        lambda pipeline: build_sensor_pipeline(pipeline, settings, sources, start, end), settings.beam_args, ls.SENSORS_READER,
        settings.store_path)
    return LiveReport(settings.city, sources, counters, offsets, seconds)


def stream(settings: SensorSettings) -> LiveReport:
    """Follow the city's sensor logs until SIGINT/SIGTERM (or `STOP.set()`)."""
    reports = follow(settings, holding_sensors, ls.SENSORS_READER, lambda sources, start: _run(settings, sources, start, None), beside=lambda: Checkpointer(settings.store_path))
    return combined_report(reports)


def catch_up(settings: SensorSettings, from_seq: int | None = None) -> LiveReport:
    """Commit what has landed up to the logs' current ends, then finish. `from_seq` reads the logs
    again from there: segments committed before are skipped (the figures do not change)."""
    sources = settings.source_names()
    with holding_sensors(settings) as store:
        start, end = catch_up_range(store.offsets(ls.SENSORS_READER),
                                    {s: SensorLandingLog(settings.landing, s).end() for s in sources}, from_seq)
        return _run(settings, sources, start, end)


def land_observations(settings: SensorSettings, source: str, messages: list[bytes], origin: str) -> list[int]:
    """Land messages (JSON, as `urbanpulse mqtt land` receives them: an observation, a list of
    them, SensorThings Observations) into the sensor log `source`, as one segment."""
    rows = []
    for message in messages:
        for row in decode_message(message):
            rows.append(row | {rq.SOURCE: source, rq.SOURCE_FILE: origin, rq.SOURCE_POSITION: len(rows)})
    if not rows:
        return []
    return SensorLandingLog(settings.landing, source).append(pa.Table.from_pylist(rows, schema=sn.RAW_OBSERVATION), origin)


def encoded(observations: list[dict]) -> bytes:
    """Observations as one JSON message."""
    return json.dumps(observations, separators=(",", ":")).encode()
