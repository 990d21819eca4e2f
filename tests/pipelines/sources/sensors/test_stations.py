"""Station metadata: the Beijing TSV, Madrid's list (DMS and decimal), generic CSVs; id matching."""

from __future__ import annotations

from pathlib import Path

import pytest
from samples import sample_file

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.sensors.stations import (
    match_station_ids,
    parse_coordinate,
    parse_dms,
    read_stations,
)
from schemas.sensors import STATION

UCI_STATIONS = ["Aotizhongxin", "Changping", "Dingling", "Dongsi", "Guanyuan", "Gucheng", "Huairou",
                "Nongzhanguan", "Shunyi", "Tiantan", "Wanliu", "Wanshouxigong"]
MADRID = (
    "CODIGO;CODIGO_CORTO;ESTACION;DIRECCION;LONGITUD_ETRS89;LATITUD_ETRS89;ALTITUD;COD_TIPO;NOM_TIPO;"
    "NO2;LONGITUD;LATITUD\r\n"
    "28079004;4;Pza. de España;Plaza de España;3° 42' 43.56'' O;40° 25' 25.87'' N;635;UT;Urbana tráfico;X;"
    "-3,7122567;40,4238823\r\n"
    "28079008;8;Escuelas Aguirre;Entre C/ Alcalá y C/ O' Donell;3°40'56.35''O;40°25'17.63''N;670;UT;"
    "Urbana tráfico;X;;\r\n"
)


def test_beijing_tsv() -> None:
    stations = read_stations(sample_file("sensors", "beijing_aq_stations_kdd2018.tsv"))
    assert stations.height == 34 and stations.to_arrow().cast(STATION).num_rows == 34
    dongsi = stations.row(0, named=True)
    assert dongsi == {"station_id": "dongsi_aq", "station_name": None, "lat": 39.929, "long": 116.417}
    assert stations.get_column("station_id").is_unique().all()
    mapping, unmatched = match_station_ids(UCI_STATIONS, stations)
    assert mapping["Aotizhongxin"] == "aotizhongxin_aq" and mapping["Wanshouxigong"] == "wanshouxigong_aq"
    assert unmatched == ["Changping"]  # the KDD list spells it pingchang_aq: not guessed


def test_madrid_list_with_dms_and_decimal(tmp_path: Path) -> None:
    path = tmp_path / "estaciones.csv"
    path.write_bytes("\ufeff".encode() + MADRID.encode("utf-8"))
    stations = read_stations(path)
    first, second = stations.rows(named=True)
    assert first["station_id"] == "28079004" and first["station_name"] == "Pza. de España"
    assert first["long"] == pytest.approx(-3.7122567) and first["lat"] == pytest.approx(40.4238823)
    # no decimal columns: the DMS ones, west as negative
    assert second["long"] == pytest.approx(-(3 + 40 / 60 + 56.35 / 3600))
    assert second["lat"] == pytest.approx(40 + 25 / 60 + 17.63 / 3600)


def test_generic_csv_with_aliases(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("Site ID,Name,Latitude,Longitude\nA1,North,55.75,37.61\nB2,South,,\n")
    stations = read_stations(path)
    assert stations.rows() == [("A1", "North", 55.75, 37.61), ("B2", "South", None, None)]


def test_whole_file_problems_are_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,lat,lon\nA,55.7,37.6\nA,55.8,37.7\n")
    with pytest.raises(SourceFormatError, match="more than once: A"):
        read_stations(path)
    path.write_text("id,lat,lon\nA,north,37.6\n")
    with pytest.raises(SourceFormatError, match="station A"):
        read_stations(path)
    path.write_text("name,lat,lon\nA,55.7,37.6\n")
    with pytest.raises(SourceFormatError, match="no station id column"):
        read_stations(path)
    path.write_text("id,lat,lon\nA,95,37.6\n")
    with pytest.raises(SourceFormatError, match="out of range"):
        read_stations(path)


@pytest.mark.parametrize(("text", "expected"), [
    ("3° 42' 43.56'' O", -(3 + 42 / 60 + 43.56 / 3600)),
    ("40º25'25,87\"N", 40 + 25 / 60 + 25.87 / 3600),
    ("33° 52′ 10″ S", -(33 + 52 / 60 + 10 / 3600)),
    ("116.4°E", 116.4),
    ("-3° 30'", -3.5),
])
def test_parse_dms(text: str, expected: float) -> None:
    assert parse_dms(text) == pytest.approx(expected)


def test_parse_coordinate_and_bad_dms() -> None:
    assert parse_coordinate("-3,5") == -3.5 and parse_coordinate(" ") is None
    for bad in ("40° 61' N", "north", "40° 25' 25'' X"):
        with pytest.raises(ValueError):
            parse_dms(bad)


def test_match_station_ids_rules() -> None:
    mapping, unmatched = match_station_ids(
        ["Aotizhongxin", "Wan-Liu", "dongsi_station", "Gucheng", "x9"], ["aotizhongxin_aq", "wanliu_aq", "dongsi_aq",
                                                                       "gucheng_aq", "Gucheng"])
    assert mapping == {"Aotizhongxin": "aotizhongxin_aq", "Wan-Liu": "wanliu_aq", "dongsi_station": "dongsi_aq",
                       "Gucheng": "Gucheng"}
    assert unmatched == ["x9"]
    _, ambiguous = match_station_ids(["Tiantan"], ["tiantan_aq", "TIANTAN"])
    assert ambiguous == ["Tiantan"]
