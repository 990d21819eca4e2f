"""Localities in the key, odd/even interpolation, gaps, корпус fallback, house first, crossings, areas."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

from models.cities.pack import CityPack
from models.geocoding.forward import ForwardGeocoder, district_areas
from models.geocoding.gazetteer import learn_addresses, merge_gazetteer
from models.geocoding.transliteration import latin_key
from schemas import citypack as cp
from schemas import requests as rq
from schemas.requests import GeocodePrecision

STEP = 0.0005  # degrees of longitude per house number (about 32 m)
CITY_LAT, TOWN_LAT, MIRA_LON = 55.15, 55.03, 37.02  # the town is 13 km south of the city street


def _street(name, name_en, lat, numbers, locality=None, kind=("ул.", "St"), lon=None):
    """Houses along an east-running street: number n at 37.01 + n * STEP, odd side north, even south."""
    houses = [str(n) for n in numbers]
    return {
        cp.STREET: [name] * len(houses), cp.STREET_TYPE: [kind[0]] * len(houses),
        cp.STREET_EN: [name_en] * len(houses), cp.STREET_TYPE_EN: [kind[1]] * len(houses),
        cp.HOUSE: houses,
        cp.GAZ_LAT: [lat + (0.0002 if int(h.split("к")[0]) % 2 else -0.0002) for h in houses] if lon is None
        else [round(lat + n * STEP, 6) for n in numbers],
        cp.GAZ_LONG: [round(37.01 + n * STEP, 6) for n in numbers] if lon is None else [lon] * len(houses),
        cp.DISTRICT_ID: ["N1"] * len(houses), cp.LOCALITY: [locality] * len(houses),
    }


def gazetteer() -> pl.DataFrame:
    parts = [
        _street("Веденеева", "Vedeneeva", CITY_LAT, [1, 3, 5, 9, 11, 2, 4, 8, 10]),
        _street("Веденеева", "Vedeneeva", TOWN_LAT, [1, 3, 5, 7], locality="город Петергоф"),
        _street("Садовая", "Sadovaya", CITY_LAT + 0.01, [1, 3, 5, 7, 41, 43, 2, 4, 6]),
        _street("Ленина", "Lenina", CITY_LAT + 0.02, [1, 3, 5, 15, 19, 21, 2, 4]),
        # a north-running street crossing Ленина at longitude MIRA_LON (numbers grow northwards)
        _street("Мира", "Mira", CITY_LAT + 0.0195, [1, 3, 5, 7], kind=("пр-т", "Ave"), lon=MIRA_LON),
    ]
    columns = {name: [value for p in parts for value in p[name]] for name in cp.GAZETTEER_WITH_LOCALITY.names}
    columns[cp.HOUSE] = [h if h != "15" else "15к1" for h in columns[cp.HOUSE]]  # Ленина 15 has корпус 1 only
    return pl.from_arrow(pa.table(columns, schema=cp.GAZETTEER_WITH_LOCALITY))


@pytest.fixture(scope="module")
def geocoder() -> ForwardGeocoder:
    return ForwardGeocoder(gazetteer(), max_gap_m=400)


def geocode(geocoder: ForwardGeocoder, address: str) -> dict:
    return geocoder.predict_batch(pl.Series([address], dtype=pl.String)).row(0, named=True)


@pytest.mark.parametrize(
    ("address", "lat"),
    [
        ("ул. Веденеева, 5", CITY_LAT),
        ("город Петергоф, улица Веденеева, 5", TOWN_LAT),
        ("г. Петергоф, ул. Веденеева, д. 5", TOWN_LAT),
        ("Петергоф, Веденеева ул. 5", TOWN_LAT),
        ("ул. Веденеева 5, Петергоф", TOWN_LAT),
        ("Peterhof, 5 Vedeneeva St", TOWN_LAT),
        ("5 Vedeneeva St", CITY_LAT),
    ],
)
def test_the_locality_is_part_of_the_key(geocoder, address, lat):
    """Петергоф's ул. Веденеева is not the city's street of the same name, 13 km away."""
    row = geocode(geocoder, address)
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.HOUSE
    assert row[rq.LAT] == pytest.approx(lat, abs=0.001)


def test_a_named_locality_without_the_street_gives_the_locality(geocoder):
    row = geocode(geocoder, "г. Петергоф, ул. Несуществующая, 3")
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.LOCALITY
    assert row[rq.LAT] == pytest.approx(TOWN_LAT, abs=0.001) and row[rq.GEOCODE_EXTENT_M] > 0


@pytest.mark.parametrize(("address", "number", "side"), [("ул. Веденеева, 7", 7, 1), ("ул. Веденеева, 6", 6, -1)])
def test_interpolation_keeps_odd_and_even_sides_apart(geocoder, address, number, side):
    """7 sits between 5 and 9 on the odd (north) side; 6 between 4 and 8 on the even (south) side."""
    row = geocode(geocoder, address)
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.INTERPOLATED
    assert row[rq.LONG] == pytest.approx(37.01 + number * STEP, abs=1e-6)
    assert row[rq.LAT] == pytest.approx(CITY_LAT + side * 0.0002, abs=1e-6)


def test_no_interpolation_across_a_gap(geocoder):
    """Садовая 7 and 41 are 1.1 km apart (over `max_gap_m`): 23 gets street precision, the middle of
    that stretch, and its half-length as the extent."""
    row = geocode(geocoder, "ул. Садовая, 23")
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.STREET
    assert row[rq.LONG] == pytest.approx(37.01 + 24 * STEP, abs=1e-6)
    assert row[rq.GEOCODE_EXTENT_M] == pytest.approx(34 * STEP * 111_200 * 0.5736 / 2, rel=0.02)
    wide = ForwardGeocoder(gazetteer(), max_gap_m=2_000)  # the distance is configurable
    assert geocode(wide, "ул. Садовая, 23")[rq.GEOCODE_PRECISION] == GeocodePrecision.INTERPOLATED


@pytest.mark.parametrize("address", ["ул. Ленина, д. 15 корп. 3", "ул. Ленина, 15к2", "ул. Ленина, 15 стр. 1",
                                     "ул. Ленина, 15, литера Б", "ул. Ленина, 15"])
def test_korpus_stroenie_litera_variants_fall_back_to_the_known_house(geocoder, address):
    row = geocode(geocoder, address)
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.HOUSE
    assert row[rq.LONG] == pytest.approx(37.01 + 15 * STEP, abs=1e-6)
    assert row[rq.GEOCODE_SCORE] < 1.0


@pytest.mark.parametrize("address", ["5, ул. Ленина", "д. 5, ул. Ленина", "5, Lenina St"])
def test_house_first_forms(geocoder, address):
    row = geocode(geocoder, address)
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.HOUSE
    assert row[rq.LONG] == pytest.approx(37.01 + 5 * STEP, abs=1e-6)


@pytest.mark.parametrize(
    "address",
    ["Lenina / Mira", "ул. Ленина / пр-т Мира", "угол ул. Ленина и пр-т Мира", "пересечение Ленина и Мира",
     "Lenina St & Mira Ave", "Lenina St and Mira Ave"],
)
def test_crossings_are_placed_where_the_streets_meet(geocoder, address):
    row = geocode(geocoder, address)
    assert row[rq.GEOCODE_PRECISION] == GeocodePrecision.INTERSECTION
    assert row[rq.LONG] == pytest.approx(MIRA_LON, abs=0.0006)  # within about 40 m of the crossing
    assert row[rq.LAT] == pytest.approx(CITY_LAT + 0.02, abs=0.0004)


def test_only_a_district_gives_district_precision(tiny_pack: CityPack):
    geocoder = ForwardGeocoder(gazetteer(), areas=district_areas(tiny_pack))
    out = geocoder.predict_batch(pl.Series(["район North One", "South One district", "ул. Непонятная, 3"]))
    assert out[rq.GEOCODE_PRECISION].to_list() == ["district", "district", "none"]
    assert out[rq.LAT][0] > 55.1 > out[rq.LAT][1]
    assert out[rq.GEOCODE_ISSUE].to_list() == [None, None, rq.AddressIssue.UNKNOWN_STREET]


def test_russian_and_english_spellings_share_one_key():
    keys = pl.select(latin_key(pl.lit(pl.Series(
        ["Садовая", "Sadovaya", "Sadovaia", "Sadovaja", "Петергоф", "Peterhof", "Невский", "Nevskiy", "Nevskij"]
    )))).to_series().to_list()
    assert len(set(keys[:4])) == 1 and keys[4] == keys[5] and len(set(keys[6:])) == 1


def test_learning_keeps_localities_apart_and_merges_scripts(tiny_pack: CityPack):
    addresses = ["г. Петергоф, ул. Веденеева, 5"] * 3 + ["ул. Веденеева, 5"] * 3 + ["5 Vedeneeva St"]
    lat = [55.03] * 3 + [55.15] * 4
    learned = learn_addresses(pl.Series(addresses), pl.Series(lat), pl.Series([37.0125] * 7), tiny_pack)
    # the town's house and the city's are two addresses; the English spelling pools with the city's
    assert sorted(learned["locality_key"].to_list()) == ["", "petergof"]
    assert learned.filter(pl.col("locality_key") == "")["observations"].to_list() == [4]
    merged = merge_gazetteer(None, learned).gazetteer
    assert sorted(merged[cp.LOCALITY].to_list(), key=str) == [None, "Петергоф"]
    geocoder = ForwardGeocoder(merged)
    town = geocode(geocoder, "Петергоф, ул. Веденеева, д. 5")
    city = geocode(geocoder, "Vedeneeva St 5")
    assert town[rq.LAT] == pytest.approx(55.03) and city[rq.LAT] == pytest.approx(55.15)
