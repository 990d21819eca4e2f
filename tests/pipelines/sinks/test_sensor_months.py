"""The sensor sink cuts the work by local month: every row has one month, the rows near a
month's edge are context for the month beside it, and quality control and the 8-hour means
across an edge come out as if the series had been judged whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from models.sensors.aggregates import daily
from models.sensors.quality import flag
from pipelines import ingest_sensors
from pipelines.sinks.sensors import HALO, month_buckets, month_starts
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import sensors as sn

TZ = "Europe/Madrid"  # UTC+1 in winter, +2 in summer: month edges are not UTC midnights


def hours(start: datetime, count: int, station: str = "S1", parameter: str = "o3") -> pl.DataFrame:
    times = [start + timedelta(hours=h) for h in range(count)]
    values = [40.0 + (h % 24) for h in range(count)]
    return pl.DataFrame({sn.STATION_ID: station, sn.PARAMETER: parameter, sn.PERIOD_START: times, sn.VALUE: values},
                        schema_overrides={sn.PERIOD_START: pl.Datetime("us", "UTC")})


def as_observations(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit("µg/m³").alias(sn.UNIT), (pl.col(sn.PERIOD_START) + pl.duration(hours=1)).alias(sn.PERIOD_END),
        pl.lit([], pl.List(pl.String)).alias(sn.QC_FLAGS), pl.lit("test").alias("source"),
        pl.lit("f.csv").alias("source_file"), pl.int_range(pl.len()).cast(pl.Int64).alias("source_position"),
        pl.lit(sn.SENSOR_SCHEMA_VERSION).alias("schema_version"))


def test_month_starts_are_local_midnights() -> None:
    starts = month_starts(datetime(2024, 2, 10, tzinfo=UTC), datetime(2024, 3, 30, tzinfo=UTC), TZ)
    assert starts["label"].to_list() == ["2024-02", "2024-03", "2024-04"]
    assert starts["start"].to_list() == [datetime(2024, 1, 31, 23, tzinfo=UTC), datetime(2024, 2, 29, 23, tzinfo=UTC),
                                         datetime(2024, 3, 31, 22, tzinfo=UTC)]  # summer time from 31 March


def test_every_row_has_one_month_and_edges_are_context_of_the_neighbour() -> None:
    frame = as_observations(hours(datetime(2024, 1, 25, tzinfo=UTC), 24 * 14))  # 25 Jan .. 7 Feb
    buckets = month_buckets(frame, TZ)
    own: dict[str, int] = {}
    context: dict[str, list] = {}
    for month, rows in buckets:
        local = rows[sn.PERIOD_START].dt.convert_time_zone(TZ).dt.strftime("%Y-%m")
        own[month] = own.get(month, 0) + int((local == month).sum())
        context.setdefault(month, []).extend(rows.filter(local != month)[sn.PERIOD_START].to_list())
    assert sum(own.values()) == frame.height  # every row once in its own month
    edge = datetime(2024, 1, 31, 23, tzinfo=UTC)  # local midnight of 1 February
    assert min(context["2024-01"]) == edge and max(context["2024-01"]) == edge + HALO - timedelta(hours=1)
    assert max(context["2024-02"]) == edge - timedelta(hours=1) and min(context["2024-02"]) == edge - HALO
    assert rows.schema[sn.STATION_ID] == pl.Categorical  # repeated texts are compacted for the shuffle


def test_qc_and_mda8_across_a_month_edge_equal_the_whole_series(tmp_path: Path) -> None:
    frame = hours(datetime(2024, 1, 29, tzinfo=UTC), 24 * 6)  # 29 Jan .. 3 Feb, local Madrid
    edge = datetime(2024, 1, 31, 23, tzinfo=UTC)
    stuck = pl.col(sn.PERIOD_START).is_between(edge - timedelta(hours=7), edge + timedelta(hours=6))
    frame = frame.with_columns(pl.when(stuck).then(55.5).otherwise(pl.col(sn.VALUE)).alias(sn.VALUE))  # 14 h flat
    spike = edge - timedelta(hours=10)
    frame = frame.with_columns(pl.when(pl.col(sn.PERIOD_START) == spike).then(900.0).otherwise(pl.col(sn.VALUE))
                               .alias(sn.VALUE))
    path = tmp_path / "edge.csv"
    frame.select(sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START, sn.VALUE).write_csv(path)
    home = tmp_path / "home"
    report = ingest_sensors.run(ingest_sensors.sensor_argv([str(path)], "madrid", str(home), "csv", timezone=TZ))
    assert report.records_out == frame.height
    published = pl.read_parquet(Workspace(home).city_dataset(ds.SENSOR_OBSERVATIONS, "madrid") / "**" / "*.parquet",
                                hive_partitioning=False).sort(sn.PERIOD_START)
    whole = flag(as_observations(frame)).sort(sn.PERIOD_START)
    assert published[sn.QC_FLAGS].to_list() == whole[sn.QC_FLAGS].to_list()
    flat = published.filter(pl.col(sn.QC_FLAGS).list.contains(sn.QcFlag.FLATLINE))
    assert flat.height == 14 and flat[sn.PERIOD_START].min() < edge <= flat[sn.PERIOD_START].max()
    days = pl.read_parquet(Workspace(home).city_dataset(ds.SENSOR_DAILY, "madrid") / "**" / "*.parquet",
                           hive_partitioning=False).sort(sn.DATE)
    expected = daily(whole, TZ).sort(sn.DATE)
    assert days[sn.MDA8].to_list() == expected[sn.MDA8].to_list()  # 1 February's first means use 31 January
    assert days[sn.COUNT].to_list() == expected[sn.COUNT].to_list()
    work = Workspace(home).snapshots / ".work"
    assert not list(work.rglob("*.arrow"))  # the spilled shuffle is gone with the run


def test_district_and_monthly_figures_follow_later_runs(tmp_path: Path, tiny_pack) -> None:
    """Two stations in North One, one in South One: district figures are the spread of the
    stations' valid figures; a second run of later days updates the month without losing the first."""
    home = tiny_pack.root.parents[1]
    stations = tmp_path / "stations.csv"
    stations.write_text("station_id,station_name,lat,long\nA,Alpha,55.15,37.05\nB,Beta,55.16,37.06\n"
                        "C,Gamma,55.05,37.05\n", encoding="utf-8")
    start = datetime(2024, 3, 4, 21, tzinfo=UTC)  # local Moscow midnight of 5 March

    def run(first_day: int, days: int, name: str) -> None:
        frames = [hours(start + timedelta(days=first_day), 24 * days, station, "pm25").with_columns(
            pl.col(sn.VALUE) + offset) for station, offset in (("A", 0.0), ("B", 10.0), ("C", 3.0))]
        path = tmp_path / f"{name}.csv"
        pl.concat(frames).select(sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START, sn.VALUE).write_csv(path)
        report = ingest_sensors.run(ingest_sensors.sensor_argv([str(path)], "tiny", str(home), "csv",
                                                               stations=str(stations)))
        assert report.accounting_ok

    def read(name: str) -> pl.DataFrame:
        return pl.read_parquet(Workspace(home).city_dataset(name, "tiny") / "**" / "*.parquet", hive_partitioning=False)

    run(0, 2, "first")
    run(2, 3, "second")
    station_days = read(ds.SENSOR_DAILY)
    assert station_days.height == 3 * 5 and station_days["district_id"].to_list().count("N1") == 10
    district_days = read(ds.SENSOR_DISTRICT_DAILY).sort(sn.DATE)
    north = district_days.filter(pl.col("district_id") == "N1")
    assert north.height == 5 and north[sn.COUNT].to_list() == [2] * 5 and north[sn.EXPECTED_COUNT].to_list() == [2] * 5
    means = station_days.filter(pl.col("district_id") == "N1").group_by(sn.DATE).agg(pl.col(sn.MEAN).mean()).sort(sn.DATE)
    assert north[sn.MEAN].to_list() == pytest.approx(means[sn.MEAN].to_list())
    monthly = read(ds.SENSOR_MONTHLY)
    assert monthly.filter(pl.col(sn.STATION_ID) == "A")[sn.COUNT].to_list() == [24 * 5]  # both runs' hours
    district_months = read(ds.SENSOR_DISTRICT_MONTHLY)
    assert sorted(district_months["district_id"]) == ["N1", "S1"]
    district_hours = read(ds.SENSOR_DISTRICT_HOURLY)
    assert district_hours.filter(pl.col("district_id") == "N1").height == 24 * 5
