"""Forward geocoding fall-backs (house, interpolated, street, fuzzy, none) and learned gazetteers."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from models.cities.pack import CityPack
from models.geocoding.forward import ForwardGeocoder
from models.geocoding.gazetteer import OBSERVATIONS, learn_addresses, merge_gazetteer
from schemas import citypack as cp
from schemas import requests as rq
from schemas.requests import AddressIssue, GeocodePrecision

STEP = 0.001  # degrees of longitude between consecutive numbers' positions along the street
SADOVAYA_LAT, MIRA_LAT = 55.15, 55.05


def _street(name, kind, name_en, kind_en, lat, houses):
    """Houses along an east-running street: number n sits at 37.01 + n * STEP."""
    numbers = [int(h.split("к")[0].split(" ")[0]) for h in houses]
    return {
        cp.STREET: [name] * len(houses), cp.STREET_TYPE: [kind] * len(houses),
        cp.STREET_EN: [name_en] * len(houses), cp.STREET_TYPE_EN: [kind_en] * len(houses),
        cp.HOUSE: houses, cp.GAZ_LAT: [lat] * len(houses),
        cp.GAZ_LONG: [round(37.01 + n * STEP, 6) for n in numbers], cp.DISTRICT_ID: ["N1"] * len(houses),
    }


def gazetteer() -> pl.DataFrame:
    parts = [
        _street("Садовая", "ул.", "Sadovaya", "St", SADOVAYA_LAT, ["1", "3", "5", "9", "15к2", "2", "4", "8"]),
        _street("Мира", "пр-т", "Mira", "Ave", MIRA_LAT, ["10", "12", "7 стр. 1"]),
    ]
    columns = {name: [value for p in parts for value in p[name]] for name in cp.GAZETTEER.names}
    return pl.from_arrow(pa.table(columns, schema=cp.GAZETTEER))


@pytest.fixture(scope="module")
def geocoder() -> ForwardGeocoder:
    return ForwardGeocoder(gazetteer())


def geocode(geocoder: ForwardGeocoder, address: str | None) -> dict:
    return geocoder.predict_batch(pl.Series([address], dtype=pl.String)).row(0, named=True)


@pytest.mark.parametrize(
    ("address", "number", "lat"),
    [
        ("ул. Садовая, д. 5", 5, SADOVAYA_LAT),
        ("Садовая улица, дом 15 корпус 2", 15, SADOVAYA_LAT),
        ("15k2 Sadovaya Street", 15, SADOVAYA_LAT),
        ("проспект Мира, 7 строение 1", 7, MIRA_LAT),
        ("7 bld 1 Mira Ave", 7, MIRA_LAT),
    ],
)
def test_known_house_gets_its_point(geocoder, address, number, lat):
    row = geocode(geocoder, address)
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.HOUSE
    assert row[rq.LAT] == pytest.approx(lat) and row[rq.LONG] == pytest.approx(37.01 + number * STEP)
    assert row[rq.GEOCODE_SCORE] == pytest.approx(1.0) and row[rq.GEOCODE_ISSUE] is None


@pytest.mark.parametrize(
    ("address", "expected_number"),
    [("ул. Садовая, 7", 7), ("Садовая ул., 6", 6), ("ул. Садовая, 13", 13), ("ул. Садовая, 12", 12),
     ("пр-т Мира, 11", 11)],
)
def test_unseen_number_is_interpolated_on_its_side(geocoder, address, expected_number):
    """7 lies between 5 and 9; 13 beyond 9 continues the 5 -> 9 step; 12 beyond the last even 8."""
    row = geocode(geocoder, address)
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.INTERPOLATED
    assert row[rq.LONG] == pytest.approx(37.01 + expected_number * STEP, abs=1e-6)
    assert 0 < row[rq.GEOCODE_SCORE] < 1


def test_street_without_house_gets_the_street_midpoint(geocoder):
    row = geocode(geocoder, "ул. Садовая")
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.STREET
    assert row[rq.LAT] == pytest.approx(SADOVAYA_LAT)
    assert 37.01 + 1 * STEP <= row[rq.LONG] <= 37.01 + 15 * STEP


def test_misspelled_street_is_found_fuzzily_with_a_lower_score(geocoder):
    row = geocode(geocoder, "ул. Садавая, д. 3")
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.HOUSE
    assert row[rq.LONG] == pytest.approx(37.01 + 3 * STEP)
    assert 0.5 < row[rq.GEOCODE_SCORE] < 1.0


def test_words_before_a_name_are_tried_off(geocoder):
    row = geocode(geocoder, "около дома Садовая ул. 9")
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.HOUSE
    assert row[rq.LONG] == pytest.approx(37.01 + 9 * STEP)


@pytest.mark.parametrize(
    ("address", "issue"),
    [("ул. Несуществующая, д. 5", AddressIssue.UNKNOWN_STREET), (None, AddressIssue.NO_ADDRESS),
     ("   ", AddressIssue.NO_ADDRESS), ("12", AddressIssue.NOT_UNDERSTOOD)],
)
def test_nothing_found_gives_no_point_and_a_reason(geocoder, address, issue):
    row = geocode(geocoder, address)
    assert (row[rq.LAT], row[rq.LONG], row[rq.GEOCODE_SCORE]) == (None, None, None)
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.NONE and row[rq.GEOCODE_ISSUE] == issue


def test_batch_keeps_row_order_and_repeats(geocoder):
    addresses = pl.Series(["ул. Садовая, д. 5", None, "пр-т Мира, 12", "ул. Садовая, д. 5"])
    out = geocoder.predict_batch(addresses)
    assert out[rq.GEOCODE_PRECISION].to_list() == ["house", "none", "house", "house"]
    assert out[rq.LONG].to_list()[0] == out[rq.LONG].to_list()[3]


def test_learned_gazetteer_rejects_outliers_and_merges(tiny_pack: CityPack):
    rng = np.random.default_rng(1)
    true_lat, true_lon = 55.15, 37.05
    lat = list(true_lat + rng.normal(0, 0.0001, 6)) + [55.17, 0.0, 55.16]
    lon = list(true_lon + rng.normal(0, 0.0001, 6)) + [37.03, 0.0, 37.15]
    addresses = ["ул. Садовая, д. 5"] * 3 + ["Садовая ул., 5", "улица Садовая, дом 5", "ул. Садовая, 5"]
    addresses += ["ул. Садовая, д. 5", "ул. Садовая, д. 5", "Новая ул., 1"]
    learned = learn_addresses(pl.Series(addresses), pl.Series(lat), pl.Series(lon), tiny_pack)
    house = learned.filter(pl.col(cp.STREET) == "садовая").row(0, named=True)
    assert house[OBSERVATIONS] == 6  # the far report (~2.7 km) and null island are rejected
    assert house[cp.GAZ_LAT] == pytest.approx(true_lat, abs=0.0002)
    assert house[cp.GAZ_LONG] == pytest.approx(true_lon, abs=0.0002)
    assert house[cp.DISTRICT_ID] == "N1"

    update = merge_gazetteer(gazetteer(), learned)
    merged = update.gazetteer
    assert (update.added, update.replaced) == (1, 1)  # "Новая ул., 1" is new; house 5 moved (6 reports)
    moved = merged.filter((pl.col(cp.STREET) == "Садовая") & (pl.col(cp.HOUSE) == "5"))
    assert moved[cp.GAZ_LAT][0] == pytest.approx(true_lat, abs=0.0002)
    kept = merged.filter((pl.col(cp.STREET) == "Садовая") & (pl.col(cp.HOUSE) == "3"))
    assert kept[cp.GAZ_LONG][0] == pytest.approx(37.01 + 3 * STEP)
    row = geocode(ForwardGeocoder(merged), "Новая улица, дом 1")
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.HOUSE
    assert (row[rq.LAT], row[rq.LONG]) == pytest.approx((55.16, 37.15))


def test_pipeline_places_requests_without_coordinates_by_address(tiny_pack: CityPack, geocoder):
    from models.geocoding.address_spans import AddressSpanFinder
    from models.geocoding.reverse import ReverseGeocoder
    from pipelines.transforms.requests.geocode import geocode_frame

    frame = pl.DataFrame({
        rq.LAT: [55.05, None, None, 0.0, None],
        rq.LONG: [37.05, None, None, 0.0, None],
        rq.ADDRESS: [None, "ул. Садовая, д. 5", None, "пр-т Мира, 12", None],
        rq.DESCRIPTION: [None, None, "Яма около дома Садовая ул. 9, опасно", None, "Яма во дворе"],
    }, schema_overrides={rq.LAT: pl.Float64, rq.LONG: pl.Float64})
    out = geocode_frame(frame, ReverseGeocoder(tiny_pack), geocoder, AddressSpanFinder())
    assert out[rq.GEOCODE_PRECISION].to_list() == ["point", "house", "house", "house", "none"]
    assert out[rq.DISTRICT_ID].to_list() == ["S1", "N1", "N1", "S1", None]
    assert out[rq.GEOCODE_ISSUE].to_list() == [None, "missing_coordinates", "missing_coordinates",
                                               "null_island", "missing_coordinates"]
    assert out[rq.GEOCODE_SCORE].to_list() == [None, 1.0, 1.0, 1.0, None]
    assert out[rq.LONG][2] == pytest.approx(37.01 + 9 * STEP) and out[rq.LAT][3] == pytest.approx(MIRA_LAT)
