"""Sensor observations and their aggregates into the city's publishing transaction.

    datasets/sensor_observations/city=<city>/date=YYYY-MM-DD/part-0.parquet   normalised, QC-flagged
    datasets/sensor_hourly/city=<city>/month=YYYY-MM/part-0.parquet
    datasets/sensor_daily/city=<city>/year=YYYY/part-0.parquet
    datasets/sensor_stations/city=<city>/part-0.parquet                        coordinates, district

A run merges per station: its new observations are united with the station's published ones of
the local dates they touch (a re-sent period replaces the published one; others stay), quality
control runs over that union, and the hourly and daily figures of those dates are recomputed
from it (`models.sensors`). Each partition is then rewritten with the run's rows in place of
the ones they replace, so ingesting the same file twice, or a second file of the same days,
never double counts. Quality control sees the dates a run touches: a spike or flatline that
straddles the edge of the touched dates is judged without the hours beyond it.
"""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import polars as pl
import pyarrow as pa
from apache_beam.metrics import Metrics

from models.sensors.aggregates import daily_from_hourly, hourly
from models.sensors.quality import flag
from plumbing.atomic import PART_FILE, write_atomic
from schemas import ledger
from schemas import sensors as sn
from schemas.requests import (
    DISTRICT_ID,
    DISTRICT_NAME,
    PARENT_ID,
    PARENT_NAME,
    SCHEMA_VERSION_COLUMN,
)

OBSERVATIONS, HOURLY, DAILY = "observations", "hourly", "daily"
PARTITIONS = {OBSERVATIONS: "date", HOURLY: "month", DAILY: "year"}
REPLACED_BY = {HOURLY: [sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START], DAILY: [sn.STATION_ID, sn.PARAMETER, sn.DATE]}
PLACE_COLUMNS = (DISTRICT_ID, DISTRICT_NAME, PARENT_ID, PARENT_NAME)
OBSERVATION_FILE = sn.OBSERVATION  # the local date is the hive partition, not a column of the file
Keyed = tuple[str, pl.DataFrame]


def partition_file(dataset: Path, kind: str, value: str) -> Path:
    return dataset / f"{PARTITIONS[kind]}={value}" / PART_FILE


def _partition_values(frame: pl.DataFrame, kind: str) -> pl.Expr:
    day = pl.col(sn.DATE)
    return {OBSERVATIONS: day.cast(pl.String), HOURLY: day.dt.strftime("%Y-%m"), DAILY: day.dt.year().cast(pl.String)}[kind]


def _published(dataset: Path, kind: str, values: list[str]) -> pl.DataFrame | None:
    paths = [p for p in (partition_file(dataset, kind, v) for v in values) if p.exists()]
    if not paths:
        return None
    return pl.concat([pl.read_parquet(p, hive_partitioning=False) for p in paths], how="vertical_relaxed")


class _MergeStation(beam.DoFn):
    """One station's new observations -> its merged observations, hourly and daily rows, keyed by partition."""

    def __init__(self, datasets: dict[str, str], timezone: str, places: dict[str, dict]) -> None:
        self.datasets, self.timezone, self.places = datasets, timezone, places
        self.records_out = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_OUT)

    def process(self, keyed):
        station, frames = keyed
        new = pl.concat(list(frames), how="vertical_relaxed")
        local_date = pl.col(sn.PERIOD_START).dt.convert_time_zone(self.timezone).dt.date()
        days = sorted({d.isoformat() for d in new.select(local_date.unique())[sn.PERIOD_START].to_list()})
        published = _published(Path(self.datasets[OBSERVATIONS]), OBSERVATIONS, days)
        merged = new
        if published is not None:  # the station's published rows of those days, but for re-sent periods
            kept = published.filter(pl.col(sn.STATION_ID) == station).join(
                new, on=[sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START], how="anti")
            merged = pl.concat([kept.select(new.columns), new], how="vertical_relaxed")
        checked = flag(merged.with_columns(_without_qc_flags())).with_columns(local_date.alias(sn.DATE))
        hours = hourly(checked, self.timezone)
        days_frame = daily_from_hourly(hours, self.timezone)
        place = self.places.get(station, {})
        for kind, frame in ((OBSERVATIONS, checked), (HOURLY, hours), (DAILY, days_frame)):
            if kind != OBSERVATIONS:
                frame = frame.with_columns(*[pl.lit(place.get(c), pl.String).alias(c) for c in PLACE_COLUMNS],
                                           pl.lit(sn.SENSOR_SCHEMA_VERSION).alias(SCHEMA_VERSION_COLUMN))
            for (value,), part in frame.with_columns(_partition_values(frame, kind).alias("_part")).partition_by(
                    "_part", as_dict=True, include_key=False).items():
                yield beam.pvalue.TaggedOutput(kind, (value, part.drop(sn.DATE) if kind == OBSERVATIONS else part))
        self.records_out.inc(new.height)


class _WritePartition(beam.DoFn):
    def __init__(self, dataset: str, kind: str, schema: pa.Schema) -> None:
        self.dataset, self.kind, self.schema = dataset, kind, schema

    def process(self, keyed):
        value, frames = keyed
        new = pl.concat(list(frames), how="vertical_relaxed")
        target = partition_file(Path(self.dataset), self.kind, value)
        if target.exists():
            old = pl.read_parquet(target, hive_partitioning=False)
            if self.kind == OBSERVATIONS:  # the run's stations' rows of the day are in `new`, merged
                old = old.filter(~pl.col(sn.STATION_ID).is_in(new[sn.STATION_ID].unique().to_list()))
            else:
                old = old.join(new, on=REPLACED_BY[self.kind], how="anti")
            new = pl.concat([old.select(new.columns), new], how="vertical_relaxed")
        table = new.select(self.schema.names).sort(sn.STATION_ID, sn.PARAMETER).to_arrow().cast(self.schema)
        write_atomic(table, target, Path(self.dataset), sync=False)  # synced at the commit
        yield str(target)


class WriteSensorDatasets(beam.PTransform):
    """Normalised observation frames in; the written partition paths out."""

    def __init__(self, datasets: dict[str, Path], timezone: str, places: dict[str, dict]) -> None:
        super().__init__()
        self.datasets = {k: str(v) for k, v in datasets.items()}
        self.timezone, self.places = timezone, places

    def expand(self, observations):
        merged = (
            observations
            | "KeyByStation" >> beam.FlatMap(_by_station).with_output_types(Keyed)
            | "GroupByStation" >> beam.GroupByKey()
            | "MergeStation" >> beam.ParDo(_MergeStation(self.datasets, self.timezone, self.places))
            .with_outputs(OBSERVATIONS, HOURLY, DAILY)
        )
        schemas = {OBSERVATIONS: OBSERVATION_FILE, HOURLY: sn.SENSOR_HOURLY, DAILY: sn.SENSOR_DAILY}
        return [
            merged[kind]
            | f"Typed{kind.title()}" >> beam.Map(_same).with_output_types(Keyed)  # frames with the frame coder
            | f"Group{kind.title()}" >> beam.GroupByKey()
            | f"Write{kind.title()}" >> beam.ParDo(_WritePartition(self.datasets[kind], kind, schemas[kind]))
            for kind in (OBSERVATIONS, HOURLY, DAILY)
        ]


def _without_qc_flags() -> pl.Expr:
    """QC runs again over the merged series; the flags of how a local time was read stay."""
    kept = (sn.QcFlag.DST_AMBIGUOUS, sn.QcFlag.DST_NONEXISTENT)
    return pl.col(sn.QC_FLAGS).list.eval(pl.element().filter(pl.element().is_in(kept))).alias(sn.QC_FLAGS)


def _same(keyed: Keyed) -> Keyed:
    return keyed


def _by_station(frame: pl.DataFrame):
    for (station,), part in frame.partition_by(sn.STATION_ID, as_dict=True).items():
        yield station, part


def write_stations(dataset: Path, stations: pl.DataFrame) -> Path:
    """The city's stations (merged by id with the published ones)."""
    target = dataset / PART_FILE
    if target.exists():
        stations = pl.concat([pl.read_parquet(target).join(stations, on=sn.STATION_ID, how="anti"), stations],
                             how="diagonal_relaxed")
    write_atomic(stations.sort(sn.STATION_ID).to_arrow(), target, dataset, sync=False)
    return target

