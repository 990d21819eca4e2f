"""Sensor observations and their aggregates into the city's publishing transaction.

    datasets/sensor_observations/city=<city>/date=YYYY-MM-DD/part-0.parquet   normalised, QC-flagged
    datasets/sensor_hourly/city=<city>/month=YYYY-MM/part-0.parquet
    datasets/sensor_daily/city=<city>/year=YYYY/part-0.parquet
    datasets/sensor_monthly/city=<city>/year=YYYY/part-0.parquet
    datasets/sensor_district_{hourly,daily,monthly}/city=<city>/...           the same, per district
    datasets/sensor_stations/city=<city>/part-0.parquet                        coordinates, district

The work is cut by LOCAL MONTH, which is how the files are cut too: every observation goes to
the month of its local date, and the last and first `HALO` hours of the months beside it come
along as context (a month's quality control sees the hours just beyond its edges, and the
first 8-hour ozone means of a month need the evening before). For each month, the run's
observations are united with the published ones of the local dates they touch and of the days
around them (a re-sent period replaces the published one; others stay), quality control runs
over that union, the hourly and daily figures of the touched dates are recomputed from it
(`models.sensors`, all stations at once in polars), and its day and month files are rewritten
with the run's rows in place of the ones they replace; the month's hourly file, merged, gives
its monthly figures. Daily and monthly figures meet once more by year.
So ingesting the same file twice, or a second file of the same days, never double counts, and
a run of any length holds one month (with its context) in memory at a time: the rows reach
their month through files in the run's scratch folder (`_SpillByLocalMonth`), compacted
(repeated texts as categoricals, lz4), and Beam's shuffle moves only the files' names.

`HALO` is the longest flatline rule plus the 8-hour window: a flatline reaching into the next
month is judged on the same hours whichever month looks at it.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import apache_beam as beam
import polars as pl
import pyarrow as pa
from apache_beam.metrics import Metrics

from models.sensors.aggregates import (
    MDA8_WINDOW_HOURS,
    daily_from_hourly,
    district_figures,
    hourly,
    monthly_from_hourly,
)
from models.sensors.quality import DEFAULT_RULES, flag
from plumbing.atomic import PART_FILE, write_atomic
from schemas import datasets as ds
from schemas import ledger
from schemas import sensors as sn
from schemas.requests import (
    DISTRICT_ID,
    DISTRICT_NAME,
    PARENT_ID,
    PARENT_NAME,
    SCHEMA_VERSION_COLUMN,
    SOURCE,
    SOURCE_FILE,
)

OBSERVATIONS, HOURLY, DAILY, MONTHLY = "observations", "hourly", "daily", "monthly"
DISTRICT_HOURLY, DISTRICT_DAILY, DISTRICT_MONTHLY = "district_hourly", "district_daily", "district_monthly"
DATASETS = {OBSERVATIONS: ds.SENSOR_OBSERVATIONS, HOURLY: ds.SENSOR_HOURLY, DAILY: ds.SENSOR_DAILY,
            MONTHLY: ds.SENSOR_MONTHLY, DISTRICT_HOURLY: ds.SENSOR_DISTRICT_HOURLY,
            DISTRICT_DAILY: ds.SENSOR_DISTRICT_DAILY, DISTRICT_MONTHLY: ds.SENSOR_DISTRICT_MONTHLY}
PARTITIONS = {OBSERVATIONS: "date", HOURLY: "month", DISTRICT_HOURLY: "month"} | dict.fromkeys(
    (DAILY, MONTHLY, DISTRICT_DAILY, DISTRICT_MONTHLY), "year")
SCHEMAS = {OBSERVATIONS: sn.OBSERVATION, HOURLY: sn.SENSOR_HOURLY, DAILY: sn.SENSOR_DAILY, MONTHLY: sn.SENSOR_MONTHLY,
           DISTRICT_HOURLY: sn.SENSOR_DISTRICT_HOURLY, DISTRICT_DAILY: sn.SENSOR_DISTRICT_DAILY,
           DISTRICT_MONTHLY: sn.SENSOR_DISTRICT_MONTHLY}
TIME_OF = {OBSERVATIONS: sn.PERIOD_START, HOURLY: sn.PERIOD_START, DISTRICT_HOURLY: sn.PERIOD_START,
           DAILY: sn.DATE, DISTRICT_DAILY: sn.DATE, MONTHLY: sn.MONTH, DISTRICT_MONTHLY: sn.MONTH}
# the rows of a partition a run's row replaces: same series (station or district) and period
REPLACED_BY = {kind: [DISTRICT_ID if kind.startswith("district") else sn.STATION_ID, sn.PARAMETER, TIME_OF[kind]]
               for kind in SCHEMAS}
SERIES_PERIOD = [sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START]
PLACE_COLUMNS = (DISTRICT_ID, DISTRICT_NAME, PARENT_ID, PARENT_NAME)
OBSERVATION_FILE = sn.OBSERVATION  # the local date is the hive partition, not a column of the file
YEARLY = (DAILY, MONTHLY, DISTRICT_DAILY, DISTRICT_MONTHLY)  # written once per year, after every month
REPEATED_TEXTS = (sn.STATION_ID, sn.PARAMETER, sn.UNIT, SOURCE, SOURCE_FILE)  # categoricals in the shuffle
HALO = timedelta(hours=max(r.flatline_hours or 0 for r in DEFAULT_RULES.values()) + MDA8_WINDOW_HOURS)
CONTEXT_DAYS = HALO.days + 1  # published days read on each side of a touched date
Keyed = tuple[str, pl.DataFrame]
WRITERS = 2  # threads writing partitions (pyarrow releases the GIL while it encodes)
_MONTH, _CONTEXT = "__month", "__context"
SPILL_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


def partition_file(dataset: Path, kind: str, value: str) -> Path:
    return dataset / f"{PARTITIONS[kind]}={value}" / PART_FILE


def _published(dataset: Path, kind: str, values: list[str]) -> pl.DataFrame | None:
    paths = [p for p in (partition_file(dataset, kind, v) for v in values) if p.exists()]
    if not paths:
        return None
    return pl.concat([pl.read_parquet(p, hive_partitioning=False) for p in paths], how="vertical_relaxed")


def month_starts(first: datetime, last: datetime, timezone: str) -> pl.DataFrame:
    """(label "YYYY-MM", UTC instant) of each local month start from the month of `first` to
    the one after the month of `last`."""
    def month_of(instant: datetime) -> pl.Expr:
        return pl.lit(instant).dt.convert_time_zone(timezone).dt.replace_time_zone(None).dt.truncate("1mo")
    local = pl.select(month_of(first).alias("first"), month_of(last).dt.offset_by("1mo").alias("after")).row(0)
    starts = pl.datetime_range(*local, "1mo", eager=True, time_unit="us")
    zoned = starts.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    shifted = (starts + pl.duration(hours=1)).dt.replace_time_zone(timezone, ambiguous="earliest") - pl.duration(hours=1)
    return pl.DataFrame({"label": starts.dt.strftime("%Y-%m"),
                         "start": zoned.fill_null(shifted).dt.convert_time_zone("UTC")})


def month_buckets(frame: pl.DataFrame, timezone: str) -> list[Keyed]:
    """(local month "YYYY-MM", rows) for the months `frame`'s rows belong to, and for the months
    beside them the rows within `HALO` of their edge (their context). Months are found by a
    binary search of the few month starts, not by converting every row's time."""
    if not frame.height:
        return []
    t = frame[sn.PERIOD_START]
    months = month_starts(t.min(), t.max(), timezone)
    starts = months["start"]
    index = starts.search_sorted(t, side="right").cast(pl.Int64) - 1
    halo = HALO.total_seconds() * 1_000_000
    micros = t.dt.epoch("us")
    near_next = micros >= starts.gather(index + 1).dt.epoch("us") - halo
    near_previous = micros < starts.gather(index).dt.epoch("us") + halo
    context = pl.select(pl.when(near_next).then(index + 1).when(near_previous).then(index - 1)).to_series()
    labels = months["label"]
    keyed = frame.with_columns(index.alias(_MONTH), context.alias(_CONTEXT))
    own = keyed.drop(_CONTEXT).partition_by(_MONTH, as_dict=True, include_key=False)
    near = keyed.drop(_MONTH).drop_nulls(_CONTEXT).filter(pl.col(_CONTEXT) >= 0).partition_by(
        _CONTEXT, as_dict=True, include_key=False)
    return ([(labels[month], _compact(rows)) for (month,), rows in own.items()]
            + [(labels[month], _compact(rows)) for (month,), rows in near.items()])


def _compact(rows: pl.DataFrame) -> pl.DataFrame:
    """The columns of an observation, repeated texts as categoricals (half the bytes to shuffle)."""
    return rows.select(OBSERVATION_FILE.names).drop(SCHEMA_VERSION_COLUMN).with_columns(
        pl.col(c).cast(pl.Categorical) for c in REPEATED_TEXTS)


def _expanded(frames) -> pl.DataFrame:
    rows = pl.concat(list(frames), how="vertical_relaxed")
    return rows.with_columns(pl.col(c).cast(pl.String) for c in REPEATED_TEXTS).with_columns(
        pl.lit(sn.SENSOR_SCHEMA_VERSION).alias(SCHEMA_VERSION_COLUMN))


class _SpillByLocalMonth(beam.DoFn):
    """Each batch's rows of each local month (and its context rows) into a file of the run's
    scratch folder; out go (month, file). The local runner keeps a shuffle in memory, so the
    rows go through disk and the shuffle moves only names: a run of any length needs the memory
    of one month, not of the whole input. (Every runner reaches the home's file system anyway,
    where the datasets are written.)"""

    def __init__(self, timezone: str, scratch: str) -> None:
        self.timezone, self.scratch = timezone, scratch

    def process(self, frame: pl.DataFrame):
        for month, rows in month_buckets(frame, self.timezone):
            path = Path(self.scratch) / month / f"{uuid.uuid4().hex}.arrow"
            path.parent.mkdir(parents=True, exist_ok=True)
            with pa.ipc.new_file(path, rows.to_arrow().schema, options=SPILL_OPTIONS) as spill:
                spill.write_table(rows.to_arrow())
            yield month, str(path)


def _read_spilled(paths: list[str]) -> list[pl.DataFrame]:
    frames = []
    for path in paths:
        with pa.OSFile(path) as source:  # read into memory (a map would vanish with the file)
            frames.append(pl.from_arrow(pa.ipc.open_file(source).read_all()))
        os.unlink(path)
    return frames


class _MergeAndWriteMonth(beam.DoFn):
    """One local month of the run: merged with the published observations around the dates it
    touches, QC-flagged, aggregated; its day and month files written, its daily figures out."""

    def __init__(self, datasets: dict[str, str], timezone: str, places: dict[str, dict]) -> None:
        self.datasets, self.timezone, self.places = datasets, timezone, places
        self.records_out = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_OUT)

    def process(self, keyed):
        month, paths = keyed
        new = _expanded(_read_spilled(sorted(paths)))
        dates = new.select(self._local_date().alias(sn.DATE))[sn.DATE]
        first = date.fromisoformat(f"{month}-01")
        own = (dates >= first) & (dates < (first + timedelta(days=32)).replace(day=1))
        touched = dates.filter(own).unique().sort()
        if not touched.len():  # only context of a month the run does not touch
            return
        checked = flag(self._merged(new, touched).with_columns(_without_qc_flags())).with_columns(
            self._local_date().alias(sn.DATE))
        hours = hourly(checked, self.timezone)
        days = self._placed(daily_from_hourly(hours, self.timezone))
        in_run = pl.col(sn.DATE).is_in(touched.implode())
        month_hours = merged_partition(Path(self.datasets[HOURLY]), HOURLY, month, self._placed(hours.filter(in_run)))
        jobs = [(OBSERVATIONS, value, part) for value, part in _partitions(checked.filter(in_run), OBSERVATIONS)]
        jobs += [(HOURLY, month, month_hours), (DISTRICT_HOURLY, month, _districts(month_hours, sn.PERIOD_START))]
        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(lambda job: self._write(*job), jobs))
        self.records_out.inc(int(own.sum()))
        run_days = days.filter(in_run)
        months = self._placed(monthly_from_hourly(month_hours, self.timezone))
        for kind, frame in ((DAILY, run_days), (DISTRICT_DAILY, _districts(run_days, sn.DATE)),
                            (MONTHLY, months), (DISTRICT_MONTHLY, _districts(months, sn.MONTH))):
            for year, part in _partitions(frame, kind):
                yield f"{kind}/{year}", part

    def _local_date(self) -> pl.Expr:
        return pl.col(sn.PERIOD_START).dt.convert_time_zone(self.timezone).dt.date()

    def _merged(self, new: pl.DataFrame, touched: pl.Series) -> pl.DataFrame:
        """The run's rows and the published rows of the touched days and the days around them
        (context for quality control and the 8-hour means), but for re-sent periods."""
        around = sorted({(day + timedelta(days=shift)).isoformat() for day in touched.to_list()
                         for shift in range(-CONTEXT_DAYS, CONTEXT_DAYS + 1)})
        published = _published(Path(self.datasets[OBSERVATIONS]), OBSERVATIONS, around)
        if published is None:
            return new
        kept = published.join(new, on=SERIES_PERIOD, how="anti")
        return pl.concat([kept.select(new.columns), new], how="vertical_relaxed")

    def _placed(self, frame: pl.DataFrame) -> pl.DataFrame:
        return _placed(frame, self.places)

    def _write(self, kind: str, value: str, frame: pl.DataFrame) -> str:
        return write_partition(Path(self.datasets[kind]), kind, value, frame)


class _WriteYears(beam.DoFn):
    """The daily and monthly figures of one local year from every month of the run, into its
    year files (`kind/year` keys)."""

    def __init__(self, datasets: dict[str, str]) -> None:
        self.datasets = datasets

    def process(self, keyed):
        key, frames = keyed
        kind, year = key.split("/")
        yield write_partition(Path(self.datasets[kind]), kind, year, pl.concat(list(frames), how="vertical_relaxed"))


def _districts(figures: pl.DataFrame, time: str) -> pl.DataFrame:
    period = [time, sn.DATE, sn.HOUR] if time == sn.PERIOD_START else [time]
    return district_figures(figures, period).with_columns(pl.lit(sn.SENSOR_SCHEMA_VERSION).alias(SCHEMA_VERSION_COLUMN))


def _placed(frame: pl.DataFrame, places: dict[str, dict]) -> pl.DataFrame:
    table = pl.DataFrame([{sn.STATION_ID: k, **{c: v.get(c) for c in PLACE_COLUMNS}} for k, v in places.items()],
                         schema={sn.STATION_ID: pl.String, **dict.fromkeys(PLACE_COLUMNS, pl.String)})
    return frame.join(table, on=sn.STATION_ID, how="left").with_columns(
        pl.lit(sn.SENSOR_SCHEMA_VERSION).alias(SCHEMA_VERSION_COLUMN))


def merged_partition(dataset: Path, kind: str, value: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of a partition once `frame`'s rows replace the published rows of the same keys."""
    target = partition_file(dataset, kind, value)
    if kind == OBSERVATIONS or not target.exists():  # observations of a touched day are whole in `frame`
        return frame
    old = pl.read_parquet(target, hive_partitioning=False).join(frame, on=REPLACED_BY[kind], how="anti")
    return pl.concat([old.select(frame.columns), frame], how="vertical_relaxed")


def write_partition(dataset: Path, kind: str, value: str, frame: pl.DataFrame) -> str:
    """One partition file, `frame`'s rows in place of the published rows they replace."""
    target = partition_file(dataset, kind, value)
    frame = merged_partition(dataset, kind, value, frame)
    schema = SCHEMAS[kind]
    table = frame.select(schema.names).sort(REPLACED_BY[kind]).to_arrow().cast(schema)
    write_atomic(table, target, dataset, sync=False)  # synced at the commit
    return str(target)


def _partition_values(kind: str) -> pl.Expr:
    time = pl.col(TIME_OF[kind] if kind in (MONTHLY, DISTRICT_MONTHLY) else sn.DATE)
    return {"date": time.cast(pl.String), "month": time.dt.strftime("%Y-%m"),
            "year": time.dt.year().cast(pl.String)}[PARTITIONS[kind]]


def _partitions(frame: pl.DataFrame, kind: str):
    keyed = frame.with_columns(_partition_values(kind).alias("_part"))
    for (value,), part in keyed.partition_by("_part", as_dict=True, include_key=False).items():
        yield value, part.drop(sn.DATE) if kind == OBSERVATIONS else part


def _without_qc_flags() -> pl.Expr:
    """QC runs again over the merged series; the flags of how a local time was read stay."""
    kept = (sn.QcFlag.DST_AMBIGUOUS, sn.QcFlag.DST_NONEXISTENT)
    return pl.col(sn.QC_FLAGS).list.eval(pl.element().filter(pl.element().is_in(kept))).alias(sn.QC_FLAGS)


class WriteSensorDatasets(beam.PTransform):
    """Normalised observation frames in; the written daily partition paths out."""

    def __init__(self, datasets: dict[str, Path], timezone: str, places: dict[str, dict], scratch: Path) -> None:
        super().__init__()
        self.datasets = {k: str(v) for k, v in datasets.items()}
        self.timezone, self.places, self.scratch = timezone, places, str(scratch)

    def expand(self, observations):
        return (
            observations
            | "SpillByLocalMonth" >> beam.ParDo(_SpillByLocalMonth(self.timezone, self.scratch))
            .with_output_types(tuple[str, str])
            | "CollectMonths" >> beam.GroupByKey()
            | "MergeAndWriteMonths" >> beam.ParDo(_MergeAndWriteMonth(self.datasets, self.timezone, self.places))
            .with_output_types(Keyed)
            | "CollectYears" >> beam.GroupByKey()  # typed: frames travel with the frame coder
            | "WriteYearFigures" >> beam.ParDo(_WriteYears(self.datasets))
        )


def write_stations(dataset: Path, stations: pl.DataFrame) -> Path:
    """The city's stations (merged by id with the published ones)."""
    target = dataset / PART_FILE
    if target.exists():
        stations = pl.concat([pl.read_parquet(target).join(stations, on=sn.STATION_ID, how="anti"), stations],
                             how="diagonal_relaxed")
    write_atomic(stations.sort(sn.STATION_ID).to_arrow(), target, dataset, sync=False)
    return target

