"""The clean signals of synthetic sensors: one (stations x hours) array per parameter.

Pollutants are multiplicative: a base level times the station's offset (central stations are
more polluted, ozone less: it is titrated by traffic NO), an annual cycle, a city-wide pollution
episode factor (episodes last two to five days), a diurnal profile in local time (traffic
pollutants peak at the morning and evening rush hours, lower and later at weekends; ozone peaks
mid-afternoon) and log-normal AR(1) noise, part city-wide and part per station. Temperature is
an annual plus a diurnal sinusoid (warmest at 15:00 local) plus AR(1) noise; relative humidity
is a logistic of a latent that falls when it is warm, so it is anti-correlated with temperature
and stays inside 0-100 %; noise (LAeq) follows traffic in decibels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

HOURS_PER_YEAR = 24 * 365.25
_CHUNK = 64


@dataclass(frozen=True)
class Clock:
    """Per hour of the window (UTC hour i = start + i h): local hour, weekend, season, local day."""

    local_hour: np.ndarray  # int, 0-23 in the city's time zone
    weekend: np.ndarray  # bool: local Saturday or Sunday
    day_of_year: np.ndarray  # float, local
    local_day: np.ndarray  # int: local calendar day number (days since 1970-01-01)


@dataclass(frozen=True)
class Pollutant:
    """How one pollutant varies (levels in its canonical unit)."""

    base: float
    traffic: float  # weight of the rush-hour profile (the rest is background)
    photo: float  # weight of the afternoon photochemical profile
    season: float  # annual cycle amplitude: + winter maximum (heating), - summer maximum
    episode: float  # sensitivity to city-wide pollution episodes
    centre: float  # log-factor at the city centre
    sigma: float  # log-sd of the AR(1) noise
    decimals: int = 1


POLLUTANTS: dict[str, Pollutant] = {
    "pm25": Pollutant(12.0, 0.5, 0.0, 0.30, 1.0, 0.45, 0.35),
    "pm10": Pollutant(22.0, 0.6, 0.0, 0.25, 0.9, 0.45, 0.35),
    "no2": Pollutant(30.0, 1.1, 0.0, 0.20, 0.6, 0.70, 0.30),
    "so2": Pollutant(6.0, 0.3, 0.0, 0.35, 0.5, 0.30, 0.35),
    "co": Pollutant(0.45, 1.0, 0.0, 0.20, 0.6, 0.55, 0.25, decimals=2),
    "o3": Pollutant(55.0, 0.0, 1.2, -0.35, 0.2, -0.30, 0.25),
}
OTHERS = ("temperature", "humidity", "dew_point", "pressure", "wind_speed", "rain", "noise_laeq")
SUPPORTED = (*POLLUTANTS, *OTHERS)


def clock(start: datetime, hours: int, timezone: str) -> Clock:
    """The local calendar of `hours` UTC hours from `start` (timezone-aware, on the hour)."""
    utc = pl.datetime_range(start, start + timedelta(hours=hours - 1), "1h",
                            time_zone="UTC", eager=True)
    local = utc.dt.convert_time_zone(timezone)
    return Clock(
        local_hour=local.dt.hour().to_numpy().astype(np.int64),
        weekend=local.dt.weekday().to_numpy() >= 6,
        day_of_year=local.dt.ordinal_day().to_numpy().astype(np.float64),
        local_day=local.dt.date().cast(pl.Int32).to_numpy().astype(np.int64),
    )


def ar1(rng: np.random.Generator, rows: int, hours: int, phi: float) -> np.ndarray:
    """(rows, hours) stationary AR(1) series of unit variance, filtered in 64-hour blocks."""
    z = rng.standard_normal((rows, hours)) * math.sqrt(1.0 - phi * phi)
    z[:, 0] = rng.standard_normal(rows)
    blocks = -(-hours // _CHUNK)
    padded = np.zeros((rows, blocks * _CHUNK))
    padded[:, :hours] = z
    lag = np.subtract.outer(np.arange(_CHUNK), np.arange(_CHUNK))
    kernel = np.where(lag >= 0, phi ** np.maximum(lag, 0), 0.0)
    out = padded.reshape(rows, blocks, _CHUNK) @ kernel.T
    carry_weight = phi ** np.arange(1, _CHUNK + 1)
    carry = np.zeros(rows)
    for block in range(blocks):
        out[:, block, :] += carry[:, None] * carry_weight
        carry = out[:, block, -1]
    return out.reshape(rows, -1)[:, :hours]


def _bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((hour - centre) / width) ** 2)


def traffic_profile(c: Clock) -> np.ndarray:
    """Traffic intensity per hour (about 1 at a weekday rush hour, 0.1 at night)."""
    h = c.local_hour.astype(np.float64)
    weekday = (0.1 + 0.9 * _bump(h, 8.0, 1.3) + 0.8 * _bump(h, 19.0, 1.6)
               + 0.35 * _bump(h, 13.5, 3.0))
    weekend = 0.1 + 0.35 * _bump(h, 14.0, 3.5) + 0.2 * _bump(h, 20.0, 2.0)
    return np.where(c.weekend, weekend, weekday)


def episodes(rng: np.random.Generator, hours: int) -> np.ndarray:
    """City-wide episode factor per hour: 1 outside episodes, up to ~3 inside (2-5 days)."""
    factor = np.ones(hours)
    count = rng.poisson(hours / (24 * 25)) + (1 if hours >= 24 * 10 else 0)
    t = np.arange(hours, dtype=np.float64)
    for start, days, strength in zip(rng.uniform(0, hours, count), rng.uniform(2, 5, count),
                                     rng.uniform(0.8, 2.0, count)):
        width = days * 24.0
        inside = np.clip((t - start) / width, 0.0, 1.0)
        factor += strength * np.sin(np.pi * inside) ** 2
    return factor


def pollutant(p: Pollutant, centrality: np.ndarray, c: Clock, shared: dict[str, np.ndarray],
              noise: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(stations, hours) levels of one pollutant; `noise` is a unit AR(1) array of that shape."""
    h = c.local_hour.astype(np.float64)
    season = 1.0 + p.season * np.cos(2 * np.pi * (c.day_of_year - 15.0) / 365.25)
    photo = 0.35 + _bump(h, 15.0, 3.0)
    background = 1.0 - min(p.traffic, 0.9)
    diurnal = background + p.traffic * shared["traffic"] + p.photo * photo
    if p.photo:
        diurnal = diurnal / (background + p.photo)
    city = season * diurnal * shared["episodes"] ** p.episode
    station = np.exp(p.centre * centrality + rng.normal(0.0, 0.12, len(centrality)))
    log_noise = p.sigma * (0.6 * shared["weather"] + 0.8 * noise) - 0.5 * p.sigma ** 2
    return np.round(p.base * station[:, None] * city[None, :] * np.exp(log_noise), p.decimals)


def temperature(c: Clock, centrality: np.ndarray, shared: dict[str, np.ndarray],
                noise: np.ndarray) -> np.ndarray:
    """°C: annual cycle (July warmest) + diurnal sinusoid (15:00 warmest) + urban heat island."""
    annual = 5.8 + 13.0 * np.cos(2 * np.pi * (c.day_of_year - 200.0) / 365.25)
    diurnal = 4.0 * np.cos(2 * np.pi * (c.local_hour - 15.0) / 24.0)
    city = annual + diurnal + 3.0 * shared["weather"]
    return np.round(city[None, :] + 1.5 * centrality[:, None] + 0.6 * noise, 1)


def humidity(c: Clock, shared: dict[str, np.ndarray], noise: np.ndarray) -> np.ndarray:
    """% relative humidity, highest before dawn when it is coolest."""
    diurnal = np.cos(2 * np.pi * (c.local_hour - 15.0) / 24.0)
    latent = 1.1 - 0.8 * diurnal[None, :] - 0.5 * shared["weather"][None, :] + 0.3 * noise
    return np.round(100.0 / (1.0 + np.exp(-latent)), 1)


def dew_point(temp: np.ndarray, rh: np.ndarray) -> np.ndarray:
    """°C by the Magnus formula."""
    gamma = np.log(np.clip(rh, 1.0, 100.0) / 100.0) + 17.62 * temp / (243.12 + temp)
    return np.round(243.12 * gamma / (17.62 - gamma), 1)


def noise_laeq(centrality: np.ndarray, shared: dict[str, np.ndarray],
               noise: np.ndarray) -> np.ndarray:
    """dB(A): 42 at a quiet night up to ~70 at a central rush hour."""
    level = 42.0 + 20.0 * shared["traffic"][None, :] + 8.0 * centrality[:, None]
    return np.round(level + 1.5 * noise, 1)


def weather(name: str, noise: np.ndarray, shared: dict[str, np.ndarray]) -> np.ndarray:
    """Pressure (hPa), wind speed (m/s) and rain (mm), driven by the city-wide weather."""
    w = shared["weather"][None, :]
    if name == "pressure":
        return np.round(1000.0 - 8.0 * w + 0.3 * noise, 1)
    if name == "wind_speed":
        return np.round(np.exp(1.0 + 0.3 * w + 0.3 * noise), 1)
    return np.round(np.maximum(0.0, 1.5 * w + 0.5 * noise - 2.5), 1)
