"""The sensor pipeline end to end: the real Beijing station against pandas, idempotent merges,
dead letters, Madrid snapshots, and nothing lost."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from samples import sample_file

from pipelines import ingest_sensors
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import dead_letters as dl
from schemas import sensors as sn

BEIJING = ("sensors", "PRSA_Data_Aotizhongxin_20130301-20170228.csv")
STATIONS = ("sensors", "beijing_aq_stations_kdd2018.tsv")
UCI_HEADER = '"No","year","month","day","hour","PM2.5","PM10","SO2","NO2","CO","O3","TEMP","PRES","DEWP","RAIN","wd","WSPM","station"'


def ingest(home: Path, *paths: Path, fmt: str = "uci", **options) -> ingest_sensors.IngestReport:
    return ingest_sensors.run(ingest_sensors.sensor_argv([str(p) for p in paths], "beijing", str(home), fmt,
                                                         **options))


def table(home: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(Workspace(home).city_dataset(name, "beijing") / "**" / "*.parquet", hive_partitioning=False)


def uci_file(path: Path, days: range, station: str = "Aotizhongxin", pm25=lambda d, h: 10 + d + h) -> Path:
    rows, number = [UCI_HEADER], 1
    for day in days:
        for hour in range(24):
            rows.append(f'{number},2024,1,{day},{hour},{pm25(day, hour)},20,3,30,500,40,1.5,1020,-5,0,"N",2.1,"{station}"')
            number += 1
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def beijing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("sensors-home")
    report = ingest(home, sample_file(*BEIJING), stations=str(sample_file(*STATIONS)), timezone="Asia/Shanghai")
    assert report.accounting_ok and report.records_in == report.records_out
    return home


def test_beijing_daily_pm25_equals_pandas(beijing: Path) -> None:
    """The daily rule recomputed by pandas from the raw file, leaving out the hours UrbanPulse's
    quality control flagged (a handful of spikes and flatlines; what QC flags is tested apart)."""
    observations = table(beijing, ds.SENSOR_OBSERVATIONS).filter(pl.col(sn.PARAMETER) == "pm25")
    flagged = observations.filter(pl.col(sn.QC_FLAGS).list.len() > 0)
    assert flagged.height < 0.01 * observations.height
    excluded = set(flagged[sn.PERIOD_START].dt.convert_time_zone("Asia/Shanghai").dt.strftime("%Y-%m-%d %H"))
    raw = pd.read_csv(sample_file(*BEIJING))
    raw = raw.dropna(subset=["PM2.5"])
    local = pd.to_datetime(raw[["year", "month", "day", "hour"]])
    raw = raw[~local.dt.strftime("%Y-%m-%d %H").isin(excluded)]
    raw["date"] = pd.to_datetime(raw[["year", "month", "day"]]).dt.strftime("%Y-%m-%d")
    expected = raw.groupby("date")["PM2.5"].agg(["mean", "count"])
    expected["valid"] = expected["count"] / 24 >= 0.75
    daily = table(beijing, ds.SENSOR_DAILY).filter(pl.col(sn.PARAMETER) == "pm25").sort(sn.DATE)
    ours = daily.with_columns(pl.col(sn.DATE).cast(pl.String)).to_pandas().set_index(sn.DATE)
    assert len(ours) == len(expected)
    assert (ours[sn.COUNT] == expected["count"]).all() and (ours[sn.VALID] == expected["valid"]).all()
    assert ((ours[sn.MEAN] - expected["mean"]).abs() <= 1e-9 * expected["mean"].abs().clip(lower=1)).all()
    co = table(beijing, ds.SENSOR_OBSERVATIONS).filter(pl.col(sn.PARAMETER) == "co")
    assert set(co[sn.UNIT]) == {"mg/m³"} and co[sn.VALUE].max() < 20  # the file's µg/m³, converted


def test_stations_are_matched_to_their_coordinates(beijing: Path) -> None:
    stations = table(beijing, ds.SENSOR_STATIONS)
    assert stations[sn.STATION_ID].to_list() == ["Aotizhongxin"]
    assert stations["lat"][0] == pytest.approx(39.982) and stations["long"][0] == pytest.approx(116.397)


def test_reingest_and_split_files_equal_one_run(tmp_path: Path) -> None:
    whole = uci_file(tmp_path / "whole.csv", range(1, 5))
    first, second = uci_file(tmp_path / "a.csv", range(1, 3)), uci_file(tmp_path / "b.csv", range(3, 5))
    ingest(tmp_path / "one", whole)
    ingest(tmp_path / "one", whole)  # the same file again: nothing doubles
    ingest(tmp_path / "split", first)
    ingest(tmp_path / "split", second)
    for name in (ds.SENSOR_OBSERVATIONS, ds.SENSOR_HOURLY, ds.SENSOR_DAILY):
        key = [sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START if name != ds.SENSOR_DAILY else sn.DATE]
        one, split = (table(tmp_path / run, name).sort(key) for run in ("one", "split"))
        assert one.height == split.height and one.select(key).equals(split.select(key)), name
        assert one.select(sn.VALUE if name == ds.SENSOR_OBSERVATIONS else sn.MEAN).equals(
            split.select(sn.VALUE if name == ds.SENSOR_OBSERVATIONS else sn.MEAN)), name
    daily = table(tmp_path / "one", ds.SENSOR_DAILY).filter(pl.col(sn.PARAMETER) == "pm25").sort(sn.DATE)
    assert daily[sn.COUNT].to_list() == [24, 24, 24, 24] and daily[sn.VALID].all()


def test_bad_rows_become_dead_letters_and_faults_are_flagged(tmp_path: Path) -> None:
    path = uci_file(tmp_path / "faulty.csv", range(1, 3), pm25=lambda d, h: "abc" if (d, h) == (1, 5)
                    else (900 if (d, h) == (2, 10) else 12))
    with path.open("a", encoding="utf-8") as handle:
        handle.write('99,2024,1,3,0,10,20,3,30,500,40,1.5,1020,-5,0,"N",2.1\n')  # a field short
    report = ingest(tmp_path, path)
    assert report.accounting_ok and report.dead_letters == 2
    reasons = sorted(table(tmp_path, ds.DEAD_LETTERS)[dl.REASON].to_list())
    assert reasons == sorted([sn.SensorReason.NON_NUMERIC, sn.SensorReason.UNREADABLE_ROW])
    pm25 = table(tmp_path, ds.SENSOR_OBSERVATIONS).filter(pl.col(sn.PARAMETER) == "pm25")
    flagged = pm25.filter(pl.col(sn.QC_FLAGS).list.len() > 0)
    assert flagged.height > 0 and all(sn.QcFlag.SPIKE in f or sn.QcFlag.FLATLINE in f for f in flagged[sn.QC_FLAGS])


def test_unknown_stations_are_dead_letters_when_a_stations_file_is_given(tmp_path: Path) -> None:
    stations = tmp_path / "stations.tsv"
    stations.write_text("aotizhongxin_aq\t116.397\t39.982\n", encoding="utf-8")
    known, unknown = uci_file(tmp_path / "k.csv", range(1, 2)), uci_file(tmp_path / "u.csv", range(2, 3), "Nowhere")
    report = ingest(tmp_path, known, unknown, stations=str(stations))
    assert report.accounting_ok and report.dead_letters == 24 * 11
    assert set(table(tmp_path, ds.DEAD_LETTERS)[dl.REASON]) == {sn.SensorReason.UNKNOWN_STATION}


def test_wide_daily_snapshots_are_upserted(tmp_path: Path) -> None:
    head = "PROVINCIA;MUNICIPIO;ESTACION;MAGNITUD;PUNTO_MUESTREO;ANO;MES;DIA;" + ";".join(
        f"H{h:02d};V{h:02d}" for h in range(1, 25))
    early = ";".join(f"{v:05d};V" if h <= 10 else "00000;N" for h, v in ((h, 20 + h) for h in range(1, 25)))
    late = ";".join(f"{v:05d};V" for h, v in ((h, 20 + h) for h in range(1, 25)))
    for name, values in (("snap-08.csv", early), ("snap-24.csv", late)):
        (tmp_path / name).write_text(f"{head}\n28;079;004;8;28079004_8_8;2024;01;15;{values}\n", encoding="utf-8")
    report = ingest(tmp_path, tmp_path / "snap-08.csv", tmp_path / "snap-24.csv", fmt="wide-daily",
                    timezone="Europe/Madrid")
    assert report.accounting_ok
    no2 = table(tmp_path, ds.SENSOR_DAILY).filter(pl.col(sn.PARAMETER) == "no2")
    assert no2[sn.COUNT].to_list() == [24] and no2[sn.MEAN][0] == pytest.approx(sum(20 + h for h in range(1, 25)) / 24)
