"""Feed parameter names -> canonical codes, and every unit conversion to the canonical unit."""

from __future__ import annotations

import polars as pl
import pytest

from models.sensors.parameters import (
    MOLAR_MASS,
    MOLAR_VOLUME_L,
    canonical_parameter,
    canonical_unit,
    to_canonical_unit,
    with_default_unit,
)
from schemas.sensors import PARAMETERS


def canonical(names: list[str | None]) -> list[str | None]:
    return pl.DataFrame({"n": names}, schema={"n": pl.String}).select(canonical_parameter(pl.col("n")))["n"].to_list()


def convert(value: float, unit: str | None, parameter: str) -> tuple[float | None, bool]:
    frame = pl.DataFrame({"v": [value], "u": [unit], "p": [parameter]}, schema={"v": pl.Float64, "u": pl.String,
                                                                                "p": pl.String})
    converted, ok = to_canonical_unit(pl.col("v"), pl.col("u"), pl.col("p"))
    row = frame.select(converted.alias("v"), ok.alias("ok")).row(0)
    return row[0], row[1]


@pytest.mark.parametrize(("names", "code"), [
    (["PM2.5", "pm25", "Particulate Matter 2.5", "PM2.5 mass concentration", "pm 2,5"], "pm25"),
    (["PM10", "pm10"], "pm10"),
    (["NO2", "no2", "Nitrogen dioxide", "nitrogen-dioxide"], "no2"),
    (["SO2", "so2"], "so2"),
    (["CO", "co"], "co"),
    (["O3", "o3", "Ozone"], "o3"),
    (["TEMP", "Temperature"], "temperature"),
    (["PRES", "Air pressure"], "pressure"),
    (["DEWP"], "dew_point"),
    (["RAIN"], "rain"),
    (["WSPM", "Wind speed", "wind_speed"], "wind_speed"),
    (["Relative humidity"], "humidity"),
    (["LAeq", "noise"], "noise_laeq"),
    (["count", "bicycles", "Pedestrians"], "count"),
])
def test_feed_names_map_to_their_canonical_code(names: list[str], code: str) -> None:
    assert canonical(names) == [code] * len(names)


def test_unknown_names_and_madrid_magnitud_codes_stay_unknown() -> None:
    assert canonical(["magnitud_7", "magnitud_12", "benzene", "", None, "wd"]) == [None] * 6


def test_every_canonical_code_is_its_own_alias() -> None:
    assert canonical(list(PARAMETERS)) == list(PARAMETERS)


@pytest.mark.parametrize("unit", ["µg/m³", "ug/m3", "μg/m3", "UG/M3", "µg m-3", " ug/m^3 "])
def test_microgram_spellings_are_the_canonical_unit(unit: str) -> None:
    assert convert(42.0, unit, "pm25") == (42.0, True)


def test_mass_concentrations_convert_by_a_thousand() -> None:
    assert convert(0.3, "mg/m3", "pm10") == pytest.approx((300.0, True))
    assert convert(300.0, "µg/m³", "co") == pytest.approx((0.3, True))
    assert convert(1.2, "mg/m³", "co") == (1.2, True)


@pytest.mark.parametrize("gas", ["no2", "o3", "so2"])
def test_ppb_becomes_micrograms_at_20_degrees(gas: str) -> None:
    value, ok = convert(10.0, "ppb", gas)
    assert ok and value == pytest.approx(10.0 * MOLAR_MASS[gas] / MOLAR_VOLUME_L)


def test_the_eu_reference_factors() -> None:
    assert convert(1.0, "ppb", "no2")[0] == pytest.approx(1.912, abs=1e-3)
    assert convert(1.0, "ppb", "o3")[0] == pytest.approx(1.995, abs=1e-3)
    assert convert(1.0, "ppb", "so2")[0] == pytest.approx(2.663, abs=1e-3)
    assert convert(1.0, "ppm", "co")[0] == pytest.approx(1.164, abs=1e-3)  # ppm -> mg/m³
    assert convert(1.0, "ppm", "no2")[0] == pytest.approx(1912.5, abs=0.1)  # ppm -> µg/m³
    assert convert(1000.0, "ppb", "co")[0] == pytest.approx(1.164, abs=1e-3)  # ppb -> mg/m³


def test_mixing_ratios_of_particulate_matter_cannot_be_converted() -> None:
    assert convert(10.0, "ppb", "pm25") == (None, False)
    assert convert(10.0, "ppm", "pm10") == (None, False)


@pytest.mark.parametrize(("value", "unit", "expected"), [
    (21.5, "°C", 21.5), (21.5, "degC", 21.5), (21.5, "C", 21.5), (21.5, "ºC", 21.5),
    (273.15, "K", 0.0), (300.0, "K", 26.85), (212.0, "°F", 100.0),
])
def test_temperatures_become_celsius(value: float, unit: str, expected: float) -> None:
    assert convert(value, unit, "temperature") == pytest.approx((expected, True))
    assert convert(value, unit, "dew_point") == pytest.approx((expected, True))


@pytest.mark.parametrize(("value", "unit", "expected"), [
    (1013.0, "hPa", 1013.0), (1013.0, "mbar", 1013.0), (101300.0, "Pa", 1013.0), (101.3, "kPa", 1013.0),
])
def test_pressures_become_hectopascal(value: float, unit: str, expected: float) -> None:
    assert convert(value, unit, "pressure") == pytest.approx((expected, True))


def test_speeds_become_metres_per_second() -> None:
    assert convert(36.0, "km/h", "wind_speed") == pytest.approx((10.0, True))
    assert convert(4.4, "m/s", "wind_speed") == pytest.approx((4.4, True))


def test_humidity_noise_count_and_rain_keep_their_units() -> None:
    assert convert(55.0, "%", "humidity") == (55.0, True)
    assert convert(61.0, "dB(A)", "noise_laeq") == (61.0, True)
    assert convert(61.0, "dB", "noise_laeq") == (61.0, True)  # LAeq is A-weighted by definition
    assert convert(12.0, "count", "count") == (12.0, True)
    assert convert(0.4, "mm", "rain") == (0.4, True)


def test_a_null_unit_is_the_canonical_unit() -> None:
    assert convert(0.3, None, "co") == (0.3, True)


@pytest.mark.parametrize(("unit", "parameter"), [
    ("K", "humidity"), ("%", "noise_laeq"), ("hPa", "count"), ("furlongs", "pm25"), ("m/s", "temperature"),
])
def test_units_that_do_not_fit_the_parameter_are_not_ok(unit: str, parameter: str) -> None:
    assert convert(1.0, unit, parameter) == (None, False)


def test_a_null_parameter_is_not_ok() -> None:
    frame = pl.DataFrame({"v": [1.0], "u": ["ppb"], "p": [None]}, schema={"v": pl.Float64, "u": pl.String,
                                                                          "p": pl.String})
    assert frame.select(to_canonical_unit(pl.col("v"), pl.col("u"), pl.col("p"))[1]).item() is False


def test_default_units_fill_only_null_units() -> None:
    frame = pl.DataFrame({"u": [None, "mg/m3", None], "n": ["CO", "CO", "TEMP"]})
    filled = frame.select(with_default_unit(pl.col("u"), pl.col("n"), {"CO": "µg/m³"}))["u"].to_list()
    assert filled == ["µg/m³", "mg/m3", None]
    assert frame.select(with_default_unit(pl.col("u"), pl.col("n"), None))["u"].to_list() == [None, "mg/m3", None]


def test_canonical_units_come_from_the_schema() -> None:
    frame = pl.DataFrame({"p": ["co", "no2", "temperature"]})
    assert frame.select(canonical_unit(pl.col("p")))["p"].to_list() == ["mg/m³", "µg/m³", "°C"]
