"""Feed parameter names -> UrbanPulse's canonical parameters, and feed units -> canonical units.

Every sensor feed names its parameters and units its own way (`PM2.5`, `pm25`, `Particulate
Matter 2.5`; `µg/m³`, `ug/m3`, `ppb`). Both are matched on a key that ignores case, spaces and
punctuation (`PM2.5 mass concentration` -> `pm25massconcentration`), then looked up in an alias
table; a name or unit that is not in the table is unknown (null), never guessed.

Decisions:

* Madrid's `magnitud_<code>` names (pollutants UrbanPulse has no canonical code for) stay unknown.
* `count`, `bicycles` and `pedestrians` are all the canonical `count` (a counter's total per
  period; what is counted is the station's business).
* Gas mixing ratios become mass concentrations at 20 °C and 1013.25 hPa, the reference the EU
  air-quality directive (2008/50/EC) uses: µg/m³ = ppb x M / 24.055, where M is the molar mass in
  g/mol (`MOLAR_MASS`) and 24.055 L/mol the molar volume at that temperature and pressure
  (R x 293.15 K / 101325 Pa). ppm -> mg/m³ is the same factor (NO2 1.913, O3 1.995, SO2 2.663,
  CO 1.164). Particulate matter has no molar mass: ppb/ppm for PM cannot be converted.
* `dB` is read as `dB(A)` for `noise_laeq`: LAeq is A-weighted by definition and feeds often drop
  the `(A)` from the label.
* A null unit means the canonical unit of the parameter; `with_default_unit` first fills it with
  the unit an adapter knows its feed uses (e.g. `UCI_UNITS`, where CO is in µg/m³).
* Conversions are linear (value x factor + offset); the table of every (unit, parameter) pair is
  built once in Python, so the expressions are plain look-ups.
"""

from __future__ import annotations

import polars as pl

from schemas.sensors import PARAMETERS

MOLAR_VOLUME_L = 24.055  # L/mol at 20 °C and 1013.25 hPa
MOLAR_MASS: dict[str, float] = {"no2": 46.0055, "o3": 47.9982, "so2": 64.066, "co": 28.010}

_ALIASES: dict[str, tuple[str, ...]] = {
    "pm25": ("pm25", "pm2_5", "particulatematter25", "pm25massconcentration", "finedust", "pm25mass"),
    "pm10": ("pm10", "particulatematter10", "pm10massconcentration", "pm10mass"),
    "no2": ("no2", "nitrogendioxide", "no2massconcentration"),
    "so2": ("so2", "sulphurdioxide", "sulfurdioxide"),
    "o3": ("o3", "ozone"),
    "co": ("co", "carbonmonoxide"),
    "temperature": ("temp", "temperature", "airtemperature", "t"),
    "dew_point": ("dewp", "dewpoint", "dewpointtemperature"),
    "humidity": ("humidity", "relativehumidity", "rh", "hum"),
    "pressure": ("pres", "pressure", "airpressure", "atmosphericpressure", "barometricpressure"),
    "rain": ("rain", "precipitation", "rainfall"),
    "wind_speed": ("wspm", "windspeed", "ws"),
    "noise_laeq": ("laeq", "noise", "noiselevel", "noiselaeq", "soundlevel"),
    "count": ("count", "bicycles", "bicycle", "bikes", "pedestrians", "pedestrian", "counts"),
}
PARAMETER_ALIASES: dict[str, str] = {key: code for code, keys in _ALIASES.items() for key in keys}

# unit key (see `_unit_key`) -> (dimension, scale to the dimension's base, offset in the base)
_UNITS: dict[str, tuple[str, float, float]] = {
    "ug/m3": ("mass", 1.0, 0.0), "mg/m3": ("mass", 1000.0, 0.0), "ng/m3": ("mass", 0.001, 0.0),
    "ugm-3": ("mass", 1.0, 0.0), "mgm-3": ("mass", 1000.0, 0.0),
    "ppb": ("mixing", 1.0, 0.0), "ppm": ("mixing", 1000.0, 0.0),
    "degc": ("temperature", 1.0, 0.0), "c": ("temperature", 1.0, 0.0), "celsius": ("temperature", 1.0, 0.0),
    "k": ("temperature", 1.0, -273.15), "kelvin": ("temperature", 1.0, -273.15),
    "degf": ("temperature", 5 / 9, -32 * 5 / 9), "f": ("temperature", 5 / 9, -32 * 5 / 9),
    "%": ("percent", 1.0, 0.0), "percent": ("percent", 1.0, 0.0), "%rh": ("percent", 1.0, 0.0),
    "hpa": ("pressure", 1.0, 0.0), "mbar": ("pressure", 1.0, 0.0), "mb": ("pressure", 1.0, 0.0),
    "pa": ("pressure", 0.01, 0.0), "kpa": ("pressure", 10.0, 0.0),
    "mm": ("length", 1.0, 0.0), "cm": ("length", 10.0, 0.0),
    "m/s": ("speed", 1.0, 0.0), "ms-1": ("speed", 1.0, 0.0), "km/h": ("speed", 1 / 3.6, 0.0),
    "kmh": ("speed", 1 / 3.6, 0.0), "kph": ("speed", 1 / 3.6, 0.0), "kmh-1": ("speed", 1 / 3.6, 0.0),
    "db": ("level", 1.0, 0.0), "db(a)": ("level", 1.0, 0.0), "dba": ("level", 1.0, 0.0),
    "count": ("count", 1.0, 0.0), "counts": ("count", 1.0, 0.0), "#": ("count", 1.0, 0.0),
    "1": ("count", 1.0, 0.0),
}
_CANONICAL_KEYS = {"µg/m³": "ug/m3", "mg/m³": "mg/m3", "°C": "degc", "%": "%", "hPa": "hpa", "mm": "mm",
                   "m/s": "m/s", "dB(A)": "db(a)", "count": "count"}
_NULL_UNIT = ""  # the key of a null unit: the parameter's canonical unit
_SEP = "\x1f"


def _name_key(names: pl.Expr) -> pl.Expr:
    return names.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]", "")


def canonical_parameter(names: pl.Expr) -> pl.Expr:
    """The canonical code (`schemas.sensors.PARAMETERS`) of each feed name, null when unknown."""
    return _name_key(names).replace_strict(PARAMETER_ALIASES, default=None, return_dtype=pl.String)


def _unit_key(unit: pl.Expr) -> pl.Expr:
    """Lower case without spaces, `^`, `·` or `*`; `µ`/`μ` -> `u`, `³` -> `3`, `°`/`º` -> `deg`."""
    text = unit.str.strip_chars().str.to_lowercase()
    for old, new in (("℃", "degc"), ("µ", "u"), ("μ", "u"), ("³", "3"), ("°", "deg"), ("º", "deg")):
        text = text.str.replace_all(old, new, literal=True)
    return pl.when(unit.is_null()).then(pl.lit(_NULL_UNIT)).otherwise(text.str.replace_all(r"[\s^·*]", ""))


def _factor(unit_key: str, parameter: str) -> tuple[float, float] | None:
    """(factor, offset) from `unit_key` to the canonical unit of `parameter`, None if impossible."""
    target = _UNITS[_CANONICAL_KEYS[PARAMETERS[parameter]]]
    if unit_key == _NULL_UNIT:
        return 1.0, 0.0
    dimension, scale, offset = _UNITS[unit_key]
    if dimension == "mixing" and target[0] == "mass" and parameter in MOLAR_MASS:
        return scale * MOLAR_MASS[parameter] / MOLAR_VOLUME_L / target[1], 0.0
    if dimension != target[0]:
        return None
    return scale / target[1], offset / target[1]


def _conversions() -> dict[str, tuple[float, float]]:
    table = {}
    for parameter in PARAMETERS:
        for unit_key in (_NULL_UNIT, *_UNITS):
            factor = _factor(unit_key, parameter)
            if factor is not None:
                table[f"{unit_key}{_SEP}{parameter}"] = factor
    return table


CONVERSIONS = _conversions()


def unit_conversion(unit: pl.Expr, parameter: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(factor, offset) exprs taking a value in `unit` to `parameter`'s canonical unit; both null
    when the unit is unknown or cannot be converted for that parameter (or the parameter is null)."""
    key = pl.concat_str([_unit_key(unit), parameter], separator=_SEP)
    factor = key.replace_strict({k: v[0] for k, v in CONVERSIONS.items()}, default=None, return_dtype=pl.Float64)
    offset = key.replace_strict({k: v[1] for k, v in CONVERSIONS.items()}, default=None, return_dtype=pl.Float64)
    return factor, offset


def to_canonical_unit(value: pl.Expr, unit: pl.Expr, parameter: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(value in the canonical unit of `parameter`, ok): ok is false (and the value null) when
    the unit cannot be converted for that parameter. A null unit is the canonical unit."""
    factor, offset = unit_conversion(unit, parameter)
    return value * factor + offset, factor.is_not_null()


def with_default_unit(unit: pl.Expr, raw_names: pl.Expr, default_units: dict[str, str] | None) -> pl.Expr:
    """`unit`, or where it is null the unit the adapter says its feed uses for that raw name."""
    if not default_units:
        return unit
    return unit.fill_null(raw_names.replace_strict(default_units, default=None, return_dtype=pl.String))


def canonical_unit(parameter: pl.Expr) -> pl.Expr:
    """The canonical unit of each canonical parameter code."""
    return parameter.replace_strict(PARAMETERS, default=None, return_dtype=pl.String)
