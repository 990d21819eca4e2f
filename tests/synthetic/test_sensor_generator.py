"""Synthetic sensors for the demo city: stations, realistic hourly signals, planted faults, and
the files and messages UrbanPulse reads them from (read back with UrbanPulse's own readers)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise

import numpy as np
import polars as pl
import pytest
import shapely
from polars.testing import assert_frame_equal

from models.cities.pack import CityPack
from models.sensors.quality import DEFAULT_RULES, flag
from pipelines.land_sensors import decode_message
from pipelines.sources.sensors.uci import read_uci
from schemas.sensors import PARAMETERS, QcFlag
from synthetic.demo_city import build_demo_city
from synthetic.sensors import (
    generate_observations,
    generate_stations,
    mqtt_messages,
    write_long_csv,
    write_uci_csv,
)
from synthetic.sensors.faults import FAULT_KINDS
from synthetic.sensors.generator import DEFAULT_PARAMETERS
from synthetic.sensors.stations import centrality

SEED = 5
START = datetime(2025, 1, 6, tzinfo=UTC)
HOURS = 24 * 42
STATIONS = 30
KEY = ["station_id", "parameter", "period_start"]
PEER_COLUMNS = ["station_id", "parameter", "period_start", "value"]


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> CityPack:
    return build_demo_city(tmp_path_factory.mktemp("cities") / "demo")


@pytest.fixture(scope="module")
def stations(pack: CityPack) -> pl.DataFrame:
    return generate_stations(pack, STATIONS, SEED)


@pytest.fixture(scope="module")
def generated(pack, stations):
    return generate_observations(pack, stations, START, HOURS, SEED)


@pytest.fixture(scope="module")
def clean(pack, stations) -> pl.DataFrame:
    return generate_observations(pack, stations, START, HOURS, SEED, faults=False).observations


def _local(frame: pl.DataFrame) -> pl.DataFrame:
    local = pl.col("period_start").dt.convert_time_zone("Europe/Moscow")
    return frame.with_columns(hour=local.dt.hour(), weekend=local.dt.weekday() >= 6,
                              date=local.dt.date())


def test_counts_schema_and_units(generated, clean) -> None:
    full = STATIONS * len(DEFAULT_PARAMETERS) * HOURS
    assert clean.height == full
    assert clean.columns == ["station_id", "parameter", "period_start", "value", "unit"]
    assert clean.schema["period_start"] == pl.Datetime("us", "UTC")
    truth = generated.truth
    gaps = truth.filter(pl.col("fault") == "gap").height
    dups = truth.filter(pl.col("fault") == "duplicate").height
    assert generated.observations.height == full - gaps + dups
    units = clean.select("parameter", "unit").unique()
    assert dict(units.iter_rows()) == {p: PARAMETERS[p] for p in DEFAULT_PARAMETERS}
    assert PARAMETERS["co"] == "mg/m³" and clean.filter(parameter="co")["value"].median() < 5


def test_stations_inside_their_districts_and_denser_in_the_centre(pack) -> None:
    many = generate_stations(pack, 400, SEED)
    assert many.columns == ["station_id", "station_name", "lat", "long", "district_id"]
    assert many["station_id"].n_unique() == 400
    geoms = dict(zip(pack.district_ids, pack.geometries))
    shapes = np.array([geoms[d] for d in many["district_id"]], dtype=object)
    assert shapely.contains_xy(shapes, many["long"].to_numpy(), many["lat"].to_numpy()).all()
    grid = np.stack(np.meshgrid(np.linspace(37.3, 37.95, 120), np.linspace(55.6, 55.9, 120)))
    lon, lat = grid[0].ravel(), grid[1].ravel()
    inside = shapely.contains_xy(shapely.union_all(pack.geometries), lon, lat)
    central_area = (centrality(pack, lat[inside], lon[inside]) > 0.5).mean()
    where = centrality(pack, many["lat"].to_numpy(), many["long"].to_numpy())
    central_stations = (where > 0.5).mean()
    assert central_stations > 1.5 * central_area


def test_diurnal_weekly_and_station_cycles(pack, stations, clean) -> None:
    local = _local(clean)
    by_hour = local.group_by("parameter", "hour").agg(pl.col("value").mean())

    def curve(name: str) -> np.ndarray:
        return by_hour.filter(parameter=name).sort("hour")["value"].to_numpy()

    for name in ("no2", "pm25", "co", "noise_laeq"):
        assert int(curve(name).argmax()) in (7, 8, 9, 18, 19, 20), name
        assert curve(name)[8] > 1.2 * curve(name)[3], name
    assert int(curve("o3").argmax()) in (13, 14, 15, 16, 17)
    assert int(curve("temperature").argmax()) in (13, 14, 15, 16, 17)
    assert int(curve("humidity").argmin()) in (13, 14, 15, 16, 17)
    assert np.corrcoef(curve("temperature"), curve("humidity"))[0, 1] < -0.8
    no2 = local.filter(parameter="no2")
    weekend = no2.group_by("weekend").agg(pl.col("value").mean()).sort("weekend")["value"]
    assert weekend[1] < 0.85 * weekend[0]
    means = no2.group_by("station_id").agg(pl.col("value").mean())
    means = stations.join(means, on="station_id")
    where = centrality(pack, means["lat"].to_numpy(), means["long"].to_numpy())
    assert np.corrcoef(where, means["value"].to_numpy())[0, 1] > 0.5


def test_same_seed_same_output(pack, stations, generated) -> None:
    again = generate_observations(pack, stations, START, HOURS, SEED)
    assert_frame_equal(again.observations, generated.observations)
    assert_frame_equal(again.truth, generated.truth)
    assert_frame_equal(generate_stations(pack, STATIONS, SEED), stations)
    other = generate_observations(pack, stations, START, HOURS, SEED + 1)
    assert not other.observations["value"].equals(generated.observations["value"])


def test_every_planted_fault_is_in_truth_and_in_the_data(generated) -> None:
    obs = generated.observations.with_row_index("row")
    truth = generated.truth
    assert set(truth["fault"]) == set(FAULT_KINDS)
    gaps = truth.filter(fault="gap").join(obs, on=KEY, how="semi")
    assert gaps.is_empty()
    valued = truth.filter(pl.col("fault").is_in(["spike", "negative", "out_of_range", "flatline"]))
    found = valued.join(obs, on=KEY, suffix="_data")
    assert found.height == valued.height and (found["value"] == found["value_data"]).all()
    assert (truth.filter(fault="negative")["value"] < 0).all()
    hi = pl.col("parameter").replace_strict({p: float(r.hi) for p, r in DEFAULT_RULES.items()})
    assert truth.filter(fault="out_of_range").select((pl.col("value") > hi).all()).item()
    runs = truth.filter(fault="flatline").group_by("station_id", "parameter").agg(
        pl.len(), pl.col("value").n_unique().alias("values"))
    assert (runs["len"] >= 6).all() and runs["values"].min() >= 1
    dup_keys = obs.group_by(KEY).len().filter(pl.col("len") > 1).drop("len")
    assert_frame_equal(dup_keys.sort(KEY), truth.filter(fault="duplicate").select(KEY).sort(KEY))
    late = truth.filter(fault="late").join(obs, on=KEY)
    late_rows = late.select("station_id", "parameter", pl.col("row").alias("late_row"))
    newest_before = obs.join(late_rows, on=["station_id", "parameter"])
    newest_before = newest_before.filter(pl.col("row") < pl.col("late_row")).group_by(
        "station_id", "parameter", "late_row").agg(pl.col("period_start").max().alias("newest"))
    late = late.join(newest_before, left_on=["station_id", "parameter", "row"],
                     right_on=["station_id", "parameter", "late_row"])
    assert late.height == truth.filter(fault="late").height
    assert (late["newest"] > late["period_start"]).all()
    coverage = _local(obs).group_by("station_id", "parameter", "date").agg(pl.len() / 24)
    assert (coverage["len"] < 0.75).sum() >= 1


def test_urbanpulse_qc_flags_the_planted_faults(generated) -> None:
    flagged = flag(generated.observations)
    expected = {"spike": QcFlag.SPIKE, "negative": QcFlag.NEGATIVE, "flatline": QcFlag.FLATLINE,
                "out_of_range": QcFlag.OUT_OF_RANGE, "duplicate": QcFlag.DUPLICATE}
    for fault, code in expected.items():
        planted = generated.truth.filter(fault=fault).select(KEY).unique()
        hits = flagged.filter(pl.col("qc_flags").list.contains(code)).select(KEY).unique()
        assert planted.join(hits, on=KEY, how="anti").is_empty(), fault


def test_long_csv_has_the_peer_columns(generated, tmp_path) -> None:
    path = write_long_csv(generated.observations, tmp_path / "obs.csv")
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(PEER_COLUMNS)
    back = pl.read_csv(path, try_parse_dates=True)
    assert back.columns == PEER_COLUMNS and back.height == generated.observations.height
    assert_frame_equal(back.with_columns(pl.col("period_start").dt.replace_time_zone("UTC")
                                         .dt.cast_time_unit("us")),
                       generated.observations.select(PEER_COLUMNS))


def test_uci_layout_reads_back(generated, tmp_path) -> None:
    gaps = generated.truth.filter(pl.col("parameter").is_in(["pm25", "co"]), fault="gap")
    station = gaps["station_id"][0]
    path = write_uci_csv(generated.observations, station, tmp_path / "uci.csv", "Europe/Moscow")
    assert path.read_text(encoding="utf-8").splitlines()[0].replace('"', "").split(",")[:6] == [
        "No", "year", "month", "day", "hour", "PM2.5"]
    raw = pl.concat(read_uci(path, 50_000))
    assert raw["unreadable_record"].is_null().all() and set(raw["station_id"]) == {station}
    mine = (_local(generated.observations.filter(station_id=station))
            .unique(KEY, keep="last", maintain_order=True)
            .filter(pl.col("parameter").is_in(["pm25", "co"])))
    got = raw.filter(pl.col("parameter").is_in(["PM2.5", "CO"])).select(
        pl.col("parameter").replace({"PM2.5": "pm25", "CO": "co"}),
        pl.col("observed_at").str.to_datetime("%Y-%m-%d %H:%M"),
        pl.col("value").cast(pl.Float64))
    want = mine.select("parameter", pl.col("period_start").dt.convert_time_zone("Europe/Moscow")
                       .dt.replace_time_zone(None).alias("observed_at"),
                       pl.when(pl.col("parameter") == "co").then(pl.col("value") * 1000)
                       .otherwise("value").round(3).alias("value"))
    assert_frame_equal(got.sort("parameter", "observed_at"), want.sort("parameter", "observed_at"),
                       check_dtypes=False)
    assert got.height < 2 * HOURS  # the gaps are NA, not rows


def test_mqtt_messages_decode_to_the_observations(generated) -> None:
    observations = generated.observations.head(20_000)
    messages = mqtt_messages(observations, per_message=100, seed=SEED, timezone="Europe/Moscow")
    distinct = list(dict.fromkeys(messages))
    assert len(distinct) == 200 and len(messages) > len(distinct)  # repeated messages
    items = [json.loads(m) for m in distinct]
    firsts = [datetime.fromisoformat(batch[0]["observed_at"]) for batch in items]
    assert any(a > b for a, b in pairwise(firsts))  # some arrive late (out of order)
    rows = sorted((o for batch in items for o in batch), key=lambda o: (
        o["station_id"], o["parameter"], datetime.fromisoformat(o["observed_at"])))
    assert all(o["observed_at"].endswith("+03:00") for o in rows)
    decoded = pl.DataFrame(rows).with_columns(
        pl.col("observed_at").str.to_datetime(time_zone="UTC").alias("period_start"))
    want = observations.sort(KEY, maintain_order=True)
    assert_frame_equal(decoded.select(want.columns), want, check_dtypes=False)
    landed = [row for m in messages[:5] for row in decode_message(m)]
    assert len(landed) == 500 and all(r["unreadable_record"] is None for r in landed)
