"""Sensor observations and their aggregates into the city's publishing transaction.

    datasets/sensor_observations/city=<city>/date=YYYY-MM-DD/part-0.parquet   normalised, QC-flagged
    datasets/sensor_hourly/city=<city>/month=YYYY-MM/part-0.parquet
    datasets/sensor_daily/city=<city>/year=YYYY/part-0.parquet
    datasets/sensor_stations/city=<city>/part-0.parquet                        coordinates, district

A run's observations are united with the published ones of the local dates they touch (a
re-sent period replaces the published one; others stay), quality control runs over that union,
and the hourly and daily figures of those dates are recomputed from it (`models.sensors`, all
stations at once in polars). Each partition is then rewritten, with the run's rows in place of
the ones they replace, by `WRITERS` threads, so ingesting the same file twice, or a second file
of the same days, never double counts. Quality control sees the dates a run touches: a spike or
flatline that straddles the edge of the touched dates is judged without the hours beyond it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import apache_beam as beam
import polars as pl
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
WRITERS = 2  # threads writing partitions (pyarrow releases the GIL while it encodes)


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


class _MergeAndWrite(beam.DoFn):
    """Every observation of the run, merged with the published ones of the days it touches,
    QC-flagged, aggregated, and written partition by partition (polars does the work; one
    element keeps Beam from encoding thousands of small station-day frames)."""

    def __init__(self, datasets: dict[str, str], timezone: str, places: dict[str, dict]) -> None:
        self.datasets, self.timezone, self.places = datasets, timezone, places
        self.records_out = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_OUT)

    def process(self, keyed):
        _key, frames = keyed
        new = pl.concat(list(frames), how="vertical_relaxed")
        merged = self._merged(new)
        checked = flag(merged.with_columns(_without_qc_flags())).with_columns(self._local_date().alias(sn.DATE))
        hours = hourly(checked, self.timezone)
        days = daily_from_hourly(hours, self.timezone)
        tables = {OBSERVATIONS: checked, HOURLY: self._placed(hours), DAILY: self._placed(days)}
        with ThreadPoolExecutor(WRITERS) as pool:
            written = list(pool.map(lambda job: self._write(*job), [
                (kind, value, part) for kind, frame in tables.items() for value, part in _partitions(frame, kind)]))
        self.records_out.inc(new.height)
        yield from written

    def _local_date(self) -> pl.Expr:
        return pl.col(sn.PERIOD_START).dt.convert_time_zone(self.timezone).dt.date()

    def _merged(self, new: pl.DataFrame) -> pl.DataFrame:
        """The run's rows and the published rows of the days they touch, but for re-sent periods."""
        days = sorted(d.isoformat() for d in new.select(self._local_date().unique())[sn.PERIOD_START].to_list())
        published = _published(Path(self.datasets[OBSERVATIONS]), OBSERVATIONS, days)
        if published is None:
            return new
        kept = published.join(new, on=[sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START], how="anti")
        return pl.concat([kept.select(new.columns), new], how="vertical_relaxed")

    def _placed(self, frame: pl.DataFrame) -> pl.DataFrame:
        places = pl.DataFrame([{sn.STATION_ID: k, **{c: v.get(c) for c in PLACE_COLUMNS}} for k, v in self.places.items()],
                              schema={sn.STATION_ID: pl.String, **dict.fromkeys(PLACE_COLUMNS, pl.String)})
        return frame.join(places, on=sn.STATION_ID, how="left").with_columns(
            pl.lit(sn.SENSOR_SCHEMA_VERSION).alias(SCHEMA_VERSION_COLUMN))

    def _write(self, kind: str, value: str, frame: pl.DataFrame) -> str:
        dataset = Path(self.datasets[kind])
        target = partition_file(dataset, kind, value)
        if kind != OBSERVATIONS and target.exists():  # observations of a touched day are whole in `frame`
            old = pl.read_parquet(target, hive_partitioning=False).join(frame, on=REPLACED_BY[kind], how="anti")
            frame = pl.concat([old.select(frame.columns), frame], how="vertical_relaxed")
        schema = {OBSERVATIONS: OBSERVATION_FILE, HOURLY: sn.SENSOR_HOURLY, DAILY: sn.SENSOR_DAILY}[kind]
        table = frame.select(schema.names).sort(sn.STATION_ID, sn.PARAMETER).to_arrow().cast(schema)
        write_atomic(table, target, dataset, sync=False)  # synced at the commit
        return str(target)


def _partitions(frame: pl.DataFrame, kind: str):
    keyed = frame.with_columns(_partition_values(frame, kind).alias("_part"))
    for (value,), part in keyed.partition_by("_part", as_dict=True, include_key=False).items():
        yield value, part.drop(sn.DATE) if kind == OBSERVATIONS else part


def _without_qc_flags() -> pl.Expr:
    """QC runs again over the merged series; the flags of how a local time was read stay."""
    kept = (sn.QcFlag.DST_AMBIGUOUS, sn.QcFlag.DST_NONEXISTENT)
    return pl.col(sn.QC_FLAGS).list.eval(pl.element().filter(pl.element().is_in(kept))).alias(sn.QC_FLAGS)


class WriteSensorDatasets(beam.PTransform):
    """Normalised observation frames in; the written partition paths out."""

    def __init__(self, datasets: dict[str, Path], timezone: str, places: dict[str, dict]) -> None:
        super().__init__()
        self.datasets = {k: str(v) for k, v in datasets.items()}
        self.timezone, self.places = timezone, places

    def expand(self, observations):
        return (
            observations
            | "KeyTheRun" >> beam.Map(_the_run).with_output_types(Keyed)
            | "CollectTheRun" >> beam.GroupByKey()  # typed: frames travel with the frame coder
            | "MergeAndWrite" >> beam.ParDo(_MergeAndWrite(self.datasets, self.timezone, self.places))
        )


def _the_run(frame: pl.DataFrame) -> Keyed:
    return "run", frame


def write_stations(dataset: Path, stations: pl.DataFrame) -> Path:
    """The city's stations (merged by id with the published ones)."""
    target = dataset / PART_FILE
    if target.exists():
        stations = pl.concat([pl.read_parquet(target).join(stations, on=sn.STATION_ID, how="anti"), stations],
                             how="diagonal_relaxed")
    write_atomic(stations.sort(sn.STATION_ID).to_arrow(), target, dataset, sync=False)
    return target

