"""The cross-stream pipeline on the demo city: planted complaints against a planted pm25 episode.

Sensors go through the real sensor ingest (UCI files + a stations file); requests are published
as enriched rows in the city's transaction (the demo taxonomy has no air-quality category for
the request classifier to give), generated background requests plus three planted complaints.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.cross.context import EARTH_RADIUS_M
from pipelines import cross_streams, ingest_sensors
from plumbing.atomic import write_atomic
from plumbing.publishing import publishing
from plumbing.workspace import Workspace
from schemas import cross as cx
from schemas import datasets as ds
from schemas import requests as rq
from synthetic.demo_city import build_demo_city
from synthetic.requests.generator import generate_requests
from synthetic.sensors import generate_observations, generate_stations, write_uci_csv

START = datetime(2026, 10, 1, tzinfo=UTC)
HOURS = 72
EPISODE = range(30, 34)  # hours after START with pm25 60-70 at ST0001
CITY = "demo"


def _clean_pm25(observations: pl.DataFrame) -> pl.DataFrame:
    hour = ((pl.col("period_start") - pl.lit(START)).dt.total_hours()).cast(pl.Int64)
    episode = (pl.col("station_id") == "ST0001") & hour.is_in(list(EPISODE))
    return observations.with_columns(
        pl.when(episode).then(60.0 + 2 * (hour - EPISODE.start)).otherwise(6.0 + hour % 4).alias("value"))


def _publish_sensors(home: Path, pack, tmp: Path) -> pl.DataFrame:
    stations = generate_stations(pack, 3, seed=3)
    observations = _clean_pm25(generate_observations(pack, stations, START, HOURS, seed=3, parameters=("pm25",),
                                                     faults=False).observations)
    files = [str(write_uci_csv(observations, sid, tmp / f"{sid}.csv", pack.timezone))
             for sid in stations["station_id"]]
    listed = tmp / "stations.csv"
    stations.select("station_id", "station_name", "lat", "long").write_csv(listed)
    report = ingest_sensors.run(ingest_sensors.sensor_argv(files, CITY, str(home), "uci", stations=str(listed)))
    assert report.accounting_ok
    return stations


def _metres_north(lat: float, metres: float) -> float:
    return lat + np.degrees(metres / EARTH_RADIUS_M)


def _requests(pack, station: dict) -> pl.DataFrame:
    records, truth = generate_requests(pack, 300, seed=5, start=START.replace(tzinfo=None), days=3)
    background = (truth.filter(pl.col("reason").is_null(), ~pl.col("is_resend"))
                  .join(records.select(rq.SERVICE_REQUEST_ID, rq.REQUESTED_DATETIME), on=rq.SERVICE_REQUEST_ID)
                  .unique(rq.SERVICE_REQUEST_ID, keep="first")
                  .select(rq.SERVICE_REQUEST_ID, rq.CATEGORY,
                          pl.col(rq.REQUESTED_DATETIME).str.to_datetime(time_zone="UTC", time_unit="us"),
                          rq.LAT, rq.LONG, rq.DISTRICT_ID))
    at = START + timedelta(hours=EPISODE.start + 1, minutes=30)
    near = _metres_north(station["lat"], 300)
    planted = pl.DataFrame([
        ("env-near", "air_quality", at, near, station["long"], station["district_id"]),
        ("env-far", "Air Quality", at, _metres_north(station["lat"], 11_000), station["long"], station["district_id"]),
        ("env-clean", "smell", START + timedelta(hours=60), near, station["long"], station["district_id"]),
    ], schema=background.schema, orient="row")
    local = pl.col(rq.REQUESTED_DATETIME).dt.convert_time_zone(pack.timezone).dt.date()
    return pl.concat([background, planted]).with_columns(local.alias(rq.REQUEST_DATE))


def _publish_requests(workspace: Workspace, requests: pl.DataFrame) -> None:
    with publishing(workspace, CITY, "test-requests", "test requests") as transaction:
        folder = transaction.dataset(ds.REQUESTS)
        for (day,), rows in requests.partition_by(rq.REQUEST_DATE, as_dict=True).items():
            write_atomic(rows.drop(rq.REQUEST_DATE).to_arrow(), folder / f"date={day}" / "part-0.parquet", folder,
                         sync=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("cross-home")
    workspace = Workspace(home)
    pack = build_demo_city(workspace.city(CITY))
    stations = _publish_sensors(home, pack, tmp_path_factory.mktemp("cross-inputs"))
    requests = _requests(pack, stations.row(0, named=True))
    far_lat = requests.filter(pl.col(rq.SERVICE_REQUEST_ID) == "env-far")[rq.LAT].item()
    assert (np.abs(stations["lat"].to_numpy() - far_lat) > 0.02).all()  # > 2 km from every station
    _publish_requests(workspace, requests)
    report = cross_streams.run(cross_streams.cross_argv(CITY, str(home)))
    return workspace, pack, requests, report


def _context(workspace: Workspace) -> dict[str, dict]:
    table = pl.read_parquet(workspace.city_dataset(ds.REQUEST_SENSOR_CONTEXT, CITY) / "part-0.parquet")
    return {row[rq.SERVICE_REQUEST_ID]: row for row in table.iter_rows(named=True)}


def test_planted_complaints_are_corroborated_or_told_why_not(demo) -> None:
    workspace, _pack, _requests, report = demo
    rows = _context(workspace)
    assert rows["env-near"][cx.CORROBORATED] and rows["env-near"][cx.REASON] is None
    assert rows["env-near"]["parameter"] == "pm25" and rows["env-near"][cx.ANOMALY_STATION_ID] == "ST0001"
    assert rows["env-near"][cx.ANOMALY_VALUE] >= 60 and rows["env-near"][cx.THRESHOLD] == 15
    assert rows["env-near"][cx.DISTANCE_M] == pytest.approx(300, abs=5)
    assert rows["env-far"][cx.REASON] == cx.ContextReason.NO_STATION_IN_RANGE
    assert rows["env-clean"][cx.REASON] == cx.ContextReason.NO_ANOMALY
    noise = [r for r in rows.values() if r[rq.CATEGORY] == "noise"]
    assert noise and all(r[cx.REASON] != cx.ContextReason.NO_ANOMALY and not r[cx.CORROBORATED] for r in noise)
    assert report.environmental == len(rows) and report.corroborated >= 1


def test_rates_equal_a_direct_count_per_population(demo) -> None:
    workspace, pack, requests, report = demo
    rates = pl.read_parquet(workspace.city_dataset(ds.REQUESTS_PER_1000, CITY) / "part-0.parquet")
    populations = dict(zip(pack.district_ids, pack.populations))
    direct = requests.group_by(rq.DISTRICT_ID, rq.REQUEST_DATE).len()
    published = {(r[rq.DISTRICT_ID], r[rq.REQUEST_DATE]): r for r in rates.iter_rows(named=True)}
    for district, day, count in direct.iter_rows():
        row = published[(district, day)]
        assert row[cx.REQUESTS] == count
        expected = count / populations[district] * 1000 if populations.get(district) else None
        assert row[cx.REQUESTS_PER_1000] == (pytest.approx(expected) if expected is not None else None)
    assert rates[cx.REQUESTS].sum() == requests.height == report.requests
    days = requests[rq.REQUEST_DATE].n_unique()
    assert rates.filter(pl.col(rq.DISTRICT_ID).is_in(pack.district_ids)).height == len(pack.district_ids) * days


def test_options_change_the_match_and_the_other_datasets_stay(demo) -> None:
    workspace, _pack, _requests, _report = demo
    hourly_before = sorted(p.name for p in workspace.city_dataset(ds.SENSOR_HOURLY, CITY).iterdir())
    cross_streams.run(cross_streams.cross_argv(CITY, str(workspace.root), distance_m=20_000, hours_before=1,
                                               hours_after=0))
    rows = _context(workspace)
    assert rows["env-far"][cx.CORROBORATED] and rows["env-far"][cx.STATIONS_IN_RANGE] >= 1
    assert rows["env-near"][cx.CORROBORATED]
    assert sorted(p.name for p in workspace.city_dataset(ds.SENSOR_HOURLY, CITY).iterdir()) == hourly_before
    assert any(workspace.city_dataset(ds.REQUESTS, CITY).iterdir())


def test_the_command_reruns_with_a_shorter_distance(demo, capsys) -> None:
    from flows.cli import main

    workspace, _pack, _requests, _report = demo
    assert main(["--home", str(workspace.root), "cross", "streams", "--city", CITY, "--distance-m", "200",
                 "--no-prefect"]) == 0
    rows = _context(workspace)
    assert rows["env-near"][cx.REASON] == cx.ContextReason.NO_STATION_IN_RANGE  # 300 m away, 200 m asked
    corroborated = sum(bool(r[cx.CORROBORATED]) for r in rows.values())
    assert f"{len(rows):,} of environmental categories, {corroborated:,}" in capsys.readouterr().out


@pytest.mark.parametrize("flow", [[], ["--no-prefect"]], ids=["prefect-flow", "no-prefect"])
def test_a_city_without_requests_gets_one_clear_line(tmp_path: Path, capsys, flow) -> None:
    from flows.cli import main

    assert main(["--home", str(tmp_path), "cross", "streams", "--city", "empty", *flow]) == 2
    err = capsys.readouterr().err
    assert err.startswith("urbanpulse: error: city 'empty' has no published requests") and err.count("\n") == 1
