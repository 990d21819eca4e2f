"""Synthetic hourly sensor observations for a city pack, with the answer key of planted faults.

`generate_stations` places stations in the pack's districts (`synthetic.sensors.stations`);
`generate_observations` draws every parameter as one (stations x hours) numpy array of realistic
signals (`synthetic.sensors.signals`), plants faults (`synthetic.sensors.faults`) and returns
the long observation frame plus a truth frame of what was planted. The same pack, stations,
seed and arguments give identical frames; ten million observations take a few seconds.
The writers for the formats UrbanPulse reads are in `synthetic.sensors.formats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl

from models.cities.pack import CityPack
from schemas.requests import LAT, LONG
from schemas.sensors import PARAMETER, PARAMETERS, PERIOD_START, STATION_ID, UNIT, VALUE
from synthetic.requests.generator import SyntheticDataError
from synthetic.sensors import faults as ft
from synthetic.sensors import signals as sg
from synthetic.sensors.stations import centrality, generate_stations

DEFAULT_PARAMETERS = ("pm25", "pm10", "no2", "o3", "co", "temperature", "humidity", "noise_laeq")
FAULT = "fault"  # truth column: the planted fault kind (faults.FAULT_KINDS)
_HOUR_US = 3_600_000_000

__all__ = ["DEFAULT_PARAMETERS", "FAULT", "GeneratedSensors", "generate_observations",
           "generate_stations"]


@dataclass(frozen=True)
class GeneratedSensors:
    """`observations`: station_id, parameter, period_start (UTC), value, unit, one row per
    observation as a feed would deliver them (sorted by station, parameter and hour, a duplicate
    right after its first row, late rows at the end). `truth`: station_id, parameter,
    period_start, fault, value (the value as it is in `observations`, null for a gap; for a
    duplicate the second row's), one row per affected hour, sorted."""

    observations: pl.DataFrame
    truth: pl.DataFrame


def generate_observations(
    pack: CityPack, stations: pl.DataFrame, start: datetime, hours: int, seed: int = 0,
    parameters: tuple[str, ...] = DEFAULT_PARAMETERS, faults: bool = True,
) -> GeneratedSensors:
    """Hourly observations of `parameters` at `stations` for `hours` hours from `start`.

    `start` must fall on the hour (naive means UTC); diurnal and weekly cycles follow the
    pack's time zone. Values are in the canonical units of `schemas.sensors.PARAMETERS`.
    """
    parameters = tuple(parameters)
    unknown = [name for name in parameters if name not in sg.SUPPORTED]
    if unknown or not parameters or len(set(parameters)) != len(parameters):
        raise SyntheticDataError(f"parameters must be distinct and among {sg.SUPPORTED}, "
                                 f"got {parameters}")
    if hours < 1 or stations.height < 1:
        raise SyntheticDataError(f"need stations and a positive number of hours, got {hours}")
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    if start.minute or start.second or start.microsecond:
        raise SyntheticDataError(f"start must fall on the hour, got {start.isoformat()}")
    c = sg.clock(start, hours, pack.timezone)
    values = clean_values(pack, stations, c, parameters, seed)
    planted = None
    if faults:
        planted = ft.plant(values, parameters, c.local_hour, np.random.default_rng([seed, 9]))
    ids = stations.get_column(STATION_ID)
    start_us = int(start.timestamp()) * 1_000_000
    return GeneratedSensors(_observations(values, planted, ids, parameters, start_us),
                            _truth(planted, values.shape, ids, parameters, start_us))


def clean_values(pack: CityPack, stations: pl.DataFrame, c: sg.Clock,
                 parameters: tuple[str, ...], seed: int) -> np.ndarray:
    """(stations, parameters, hours) fault-free values, rounded as analysers report them."""
    hours = len(c.local_hour)
    shared_rng = np.random.default_rng([seed, 1])
    shared = {"traffic": sg.traffic_profile(c), "episodes": sg.episodes(shared_rng, hours),
              "weather": sg.ar1(shared_rng, 1, hours, 0.995)[0]}
    lat, lon = stations.get_column(LAT).to_numpy(), stations.get_column(LONG).to_numpy()
    where = centrality(pack, lat, lon)
    count = len(where)
    out = np.empty((count, len(parameters), hours))
    derived: dict[str, np.ndarray] = {}
    for p, name in enumerate(parameters):
        rng = np.random.default_rng([seed, 2, sg.SUPPORTED.index(name)])
        noise = sg.ar1(rng, count, hours, 0.9)
        if name in sg.POLLUTANTS:
            out[:, p] = sg.pollutant(sg.POLLUTANTS[name], where, c, shared, noise, rng)
        elif name == "noise_laeq":
            out[:, p] = sg.noise_laeq(where, shared, noise)
        elif name in ("temperature", "humidity", "dew_point"):
            out[:, p] = _thermal(name, derived, where, c, shared, seed)
        else:
            out[:, p] = sg.weather(name, noise, shared)
    return out


def _thermal(name: str, derived: dict[str, np.ndarray], where: np.ndarray, c: sg.Clock,
             shared: dict[str, np.ndarray], seed: int) -> np.ndarray:
    """Temperature, humidity and dew point, drawn once and shared (dew point needs both)."""
    if not derived:
        count, hours = len(where), len(c.local_hour)
        rng = np.random.default_rng([seed, 3])
        derived["temperature"] = sg.temperature(c, where, shared, sg.ar1(rng, count, hours, 0.9))
        derived["humidity"] = sg.humidity(c, shared, sg.ar1(rng, count, hours, 0.9))
        derived["dew_point"] = sg.dew_point(derived["temperature"], derived["humidity"])
    return derived[name]


def _observations(values: np.ndarray, planted: ft.Faults | None, ids: pl.Series,
                  parameters: tuple[str, ...], start_us: int) -> pl.DataFrame:
    flat = values.reshape(-1)
    if planted is None:
        index, value = np.arange(flat.size), flat
    else:
        keep = planted.present.reshape(-1).copy()
        keep[planted.late_index] = False
        index = np.flatnonzero(keep)
        at = np.searchsorted(index, planted.duplicate_index, side="right")
        index = np.concatenate([np.insert(index, at, planted.duplicate_index), planted.late_index])
        value = flat[index]
        value[at + np.arange(len(at))] = planted.duplicate_value
    return _long(index, values.shape, ids, parameters, start_us).with_columns(
        pl.Series(VALUE, value, pl.Float64)
    ).select(STATION_ID, PARAMETER, PERIOD_START, VALUE, UNIT)


def _truth(planted: ft.Faults | None, shape: tuple[int, ...], ids: pl.Series,
           parameters: tuple[str, ...], start_us: int) -> pl.DataFrame:
    index = np.empty(0, np.int64) if planted is None else planted.truth_index
    kinds = np.empty(0, np.int64) if planted is None else planted.truth_kind
    shown = np.empty(0) if planted is None else planted.truth_value
    frame = _long(index, shape, ids, parameters, start_us).with_columns(
        pl.Series(FAULT, np.array(ft.FAULT_KINDS, dtype=object)[kinds].tolist(), pl.String),
        pl.Series(VALUE, shown, pl.Float64).fill_nan(None),
    )
    return frame.select(STATION_ID, PARAMETER, PERIOD_START, FAULT, VALUE).sort(
        STATION_ID, PARAMETER, PERIOD_START, FAULT)


def _long(index: np.ndarray, shape: tuple[int, ...], ids: pl.Series,
          parameters: tuple[str, ...], start_us: int) -> pl.DataFrame:
    """station_id, parameter, period_start and unit of flat indices into (S, P, H)."""
    _, params, hours = shape
    series, hour = np.divmod(index, hours)
    station, param = np.divmod(series, params)
    names = pl.Series(parameters, dtype=pl.String)
    units = pl.Series([PARAMETERS[name] for name in parameters], dtype=pl.String)
    param_index = pl.Series(param.astype(np.uint32))
    return pl.DataFrame({
        STATION_ID: ids.cast(pl.String).gather(pl.Series(station.astype(np.uint32))),
        PARAMETER: names.gather(param_index),
        PERIOD_START: pl.Series(start_us + hour.astype(np.int64) * _HOUR_US).cast(
            pl.Datetime("us", "UTC")),
        UNIT: units.gather(param_index),
    })
