"""Address register import: messy CSVs and GeoJSON as cities publish them; bad rows reported."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from models.cities.pack import CityPack
from models.geocoding.address_register import RegisterError, read_register, register_gazetteer
from models.geocoding.forward import ForwardGeocoder
from models.geocoding.gazetteer import learn_addresses, merge_gazetteer
from schemas import citypack as cp
from schemas import requests as rq
from schemas.citypack import RegisterIssue

MESSY_CSV = (
    "Адрес;Населённый пункт;Широта;Долгота\n"
    "ул. Садовая, д. 5;;55,1500;37,0150\n"
    "ул. Садовая, д. 7 корп. 2;;55,1500;37,0170\n"
    "ул. Садовая;;55,15;37,01\n"
    "ул. Садовая, 9;;;37,02\n"
    "ул. Садовая, 11;;н/д;37,02\n"
    "ул. Садовая, 13;;0;0\n"
    "ул. Веденеева, 5;г. Петергоф;55,19;37,05\n"
    "ул. Веденеева, 5;;55,09;37,05\n"
    "ул. Садовая, 15;;59,0;30,0\n"
)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1251"])
def test_messy_csv_register_is_read_and_its_bad_rows_reported(tiny_pack: CityPack, tmp_path: Path, encoding):
    path = tmp_path / "register.csv"
    path.write_bytes(MESSY_CSV.encode(encoding))  # a BOM, `;`, decimal commas, or cp1251
    result = register_gazetteer(read_register(path), tiny_pack)
    assert result.rows == 9 and result.gazetteer.height + result.rejected.height == 9
    assert result.rejected.select("line", "reason").rows() == [
        (4, RegisterIssue.NO_HOUSE), (5, RegisterIssue.BAD_COORDINATES), (6, RegisterIssue.BAD_COORDINATES),
        (7, RegisterIssue.BAD_COORDINATES), (10, RegisterIssue.OUTSIDE_CITY),
    ]
    assert result.rejected["raw"][1].startswith("ул. Садовая, 9")
    gazetteer = result.gazetteer
    assert gazetteer[cp.HOUSE].to_list() == ["5", "7к2", "5", "5"]
    assert gazetteer[cp.GAZ_LONG].to_list() == [37.015, 37.017, 37.05, 37.05]
    assert gazetteer[cp.LOCALITY].to_list() == [None, None, "г. Петергоф", None]
    geocoder = ForwardGeocoder(gazetteer)
    out = geocoder.predict_batch(pl.Series(["Петергоф, Vedeneeva St 5", "ул. Веденеева, 5", "Sadovaya St 7k2"]))
    assert out[rq.LAT].to_list() == [55.19, 55.09, 55.15]
    assert out[rq.GEOCODE_PRECISION].to_list() == ["house"] * 3


def test_geojson_register_with_street_and_house_columns(tiny_pack: CityPack, tmp_path: Path):
    features = [
        {"type": "Feature", "properties": {"addr:street": "Садовая улица", "addr:housenumber": "5",
                                           "addr:city": None}, "geometry": {"type": "Point", "coordinates": [37.015, 55.15]}},
        {"type": "Feature", "properties": {"addr:street": "Садовая улица", "addr:housenumber": "9"},
         "geometry": {"type": "Polygon", "coordinates": [[[37.018, 55.149], [37.020, 55.149], [37.020, 55.151],
                                                           [37.018, 55.151], [37.018, 55.149]]]}},
        {"type": "Feature", "properties": {"addr:street": "Садовая улица", "addr:housenumber": "11"}, "geometry": None},
    ]
    path = tmp_path / "addresses.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    result = register_gazetteer(read_register(path), tiny_pack)
    assert result.gazetteer[cp.HOUSE].to_list() == ["5", "9"]
    assert result.gazetteer[cp.GAZ_LONG][1] == pytest.approx(37.019)  # a building outline: a point inside it
    assert result.rejected.select("line", "reason").rows() == [(2, RegisterIssue.BAD_COORDINATES)]
    row = ForwardGeocoder(result.gazetteer).predict_batch(pl.Series(["ул. Садовая, 7"])).row(0, named=True)
    assert row[rq.GEOCODE_PRECISION] == "interpolated" and row[rq.LONG] == pytest.approx(37.017, abs=1e-4)


def test_register_is_the_base_that_history_refines(tiny_pack: CityPack, tmp_path: Path):
    path = tmp_path / "register.csv"
    path.write_text("street,house,lat,lon\nул. Садовая,5,55.15,37.015\nул. Садовая,9,55.15,37.019\n", encoding="utf-8")
    base = register_gazetteer(read_register(path), tiny_pack).gazetteer
    history = ["Sadovaya St 7", "ул. Садовая, д. 7", "ул. Садовая, 7", "Садовая ул 5"]
    learned = learn_addresses(pl.Series(history), pl.Series([55.15] * 4), pl.Series([37.0171, 37.0169, 37.017, 37.03]),
                              tiny_pack)
    update = merge_gazetteer(base, learned)
    merged = update.gazetteer
    assert (update.added, update.replaced) == (1, 0)  # 7 is new (both scripts pooled); 5 has one report only
    assert merged.filter(pl.col(cp.HOUSE) == "5")[cp.GAZ_LONG].to_list() == [37.015]
    seven = merged.filter(pl.col(cp.HOUSE) == "7")
    assert seven[cp.STREET].to_list() == ["Садовая"] and seven[cp.GAZ_LONG][0] == pytest.approx(37.017)


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "is empty"), ("a;b\n1;2\n", "no street or address column"), ("street;house\nул. Мира;5\n", "no coordinates")],
)
def test_unusable_register_says_what_to_pass(tiny_pack: CityPack, tmp_path: Path, text, message):
    path = tmp_path / "register.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegisterError, match=message):
        register_gazetteer(read_register(path), tiny_pack)
