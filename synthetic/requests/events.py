"""Where and when synthetic requests happen, and how long the city takes to close them.

Pure numpy over whole arrays (times are int64 microseconds since the epoch, UTC), so the
generator can draw a million events in well under a second.
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from models.cities.pack import CityPack
from schemas import citypack as cp

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
_M_PER_DEG_LAT = 111_200.0

# Local-time rhythm: quiet nights, a morning peak (9-12) and an evening peak (18-21).
HOURLY_PROFILE = np.array(
    [
        0.15,
        0.10,
        0.07,
        0.06,
        0.07,
        0.15,
        0.35,
        0.60,
        0.85,
        1.00,
        1.05,
        1.00,
        0.85,
        0.80,
        0.80,
        0.80,
        0.85,
        0.95,
        1.05,
        1.10,
        1.00,
        0.80,
        0.55,
        0.30,
    ]
)
WEEKDAY_PROFILE = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.75, 0.65])  # Monday first


def shift(base_us: np.ndarray, hours: np.ndarray | float) -> np.ndarray:
    """`base_us` moved by `hours`, floored to whole seconds like real exports."""
    moved = base_us + (np.asarray(hours) * US_PER_HOUR).astype(np.int64)
    return moved - np.mod(moved, 1_000_000)


def request_times(
    rng: np.random.Generator, n: int, start: datetime, days: int, timezone: str
) -> np.ndarray:
    """Draw local days by weekday weight and local hours by the diurnal profile; wrap into range."""
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date()
    dates = [first + timedelta(days=d) for d in range(days + 1)]
    midnights = np.array(
        [int(datetime.combine(d, time(0), tzinfo=zone).timestamp()) * 1_000_000 for d in dates]
    )
    weights = WEEKDAY_PROFILE[[d.weekday() for d in dates]]
    day = rng.choice(len(dates), size=n, p=weights / weights.sum())
    hour = rng.choice(24, size=n, p=HOURLY_PROFILE / HOURLY_PROFILE.sum())
    offset = (hour + rng.random(n)) * US_PER_HOUR
    begin = int(start.timestamp()) * 1_000_000
    stamps = midnights[day] + offset.astype(np.int64) - begin
    stamps = np.mod(stamps, days * US_PER_DAY) + begin
    return stamps - np.mod(stamps, 1_000_000)  # whole seconds, like real exports


def house_weights(pack: CityPack, gazetteer_districts: np.ndarray) -> np.ndarray:
    """Requests per house proportional to its district's population spread over its houses."""
    population = _district_population(pack)
    index = {d: i for i, d in enumerate(pack.district_ids)}
    owner = np.array([index.get(d, -1) for d in gazetteer_districts])
    per_district = np.bincount(owner[owner >= 0], minlength=len(index))
    weights = np.where(owner >= 0, population[owner] / np.maximum(per_district[owner], 1), 0.0)
    return weights / weights.sum()


def points_in_districts(
    rng: np.random.Generator, pack: CityPack, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon, lat, district index) uniform inside districts drawn by population."""
    population = _district_population(pack)
    district = rng.choice(len(population), size=n, p=population / population.sum())
    lon, lat = np.empty(n), np.empty(n)
    bounds = shapely.bounds(np.asarray(pack.geometries, dtype=object))
    for position, geom in enumerate(pack.geometries):
        todo = np.flatnonzero(district == position)
        shapely.prepare(geom)
        while todo.size:
            low, high = bounds[position, :2], bounds[position, 2:]
            xy = rng.uniform(low, high, size=(todo.size, 2))
            inside = shapely.contains_xy(geom, xy[:, 0], xy[:, 1])
            lon[todo[inside]], lat[todo[inside]] = xy[inside, 0], xy[inside, 1]
            todo = todo[~inside]
    return lon, lat, district


def locate(pack: CityPack, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Index of the district containing each point, -1 outside every district."""
    owner = np.full(len(lon), -1)
    for position, geom in enumerate(pack.geometries):
        shapely.prepare(geom)
        owner[(owner < 0) & shapely.contains_xy(geom, lon, lat)] = position
    return owner


def jitter(
    rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray, low_m: float, high_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Move each point by a normal offset whose scale is drawn per point in [low_m, high_m]."""
    scale = rng.uniform(low_m, high_m, size=len(lon))
    north, east = rng.normal(0, 1, (2, len(lon))) * scale
    dlat = north / _M_PER_DEG_LAT
    dlon = east / (_M_PER_DEG_LAT * np.cos(np.radians(lat)))
    return lon + dlon, lat + dlat


def displace(
    rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray, low_m: float, high_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Move each point a distance in [low_m, high_m] in a random direction."""
    distance = rng.uniform(low_m, high_m, size=len(lon))
    angle = rng.uniform(0, 2 * math.pi, size=len(lon))
    dlat = distance * np.cos(angle) / _M_PER_DEG_LAT
    dlon = distance * np.sin(angle) / (_M_PER_DEG_LAT * np.cos(np.radians(lat)))
    return lon + dlon, lat + dlat


def _district_population(pack: CityPack) -> np.ndarray:
    raw = np.array([p if p is not None else np.nan for p in pack.populations], dtype=float)
    fallback = np.nanmean(raw) if np.isfinite(raw).any() else 1.0
    return np.where(np.isfinite(raw) & (raw > 0), raw, fallback)


def gazetteer_arrays(pack: CityPack) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(lon, lat, district_id) of gazetteer houses inside the pack's districts, or None."""
    gazetteer = pack.gazetteer
    if gazetteer is None or gazetteer.height == 0:
        return None
    return (
        gazetteer.get_column(cp.GAZ_LONG).to_numpy(),
        gazetteer.get_column(cp.GAZ_LAT).to_numpy(),
        gazetteer.get_column(cp.DISTRICT_ID).to_numpy(),
    )


def places(
    rng: np.random.Generator, pack: CityPack, n: int, point_share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(house index or -1, lon, lat, district index): a gazetteer house for most requests, a
    point anywhere in a district for `point_share` of them (and for all without a gazetteer)."""
    lon, lat, district = points_in_districts(rng, pack, n)
    house = np.full(n, -1)
    houses = gazetteer_arrays(pack)
    if houses is None:
        return house, lon, lat, district
    by_house = rng.random(n) >= point_share
    weights = house_weights(pack, houses[2])
    picks = rng.choice(len(weights), size=int(by_house.sum()), p=weights)
    house[by_house] = picks
    lon[by_house], lat[by_house] = houses[0][picks], houses[1][picks]
    index = {d: i for i, d in enumerate(pack.district_ids)}
    district[by_house] = np.array([index.get(d, -1) for d in houses[2]])[picks]
    return house, lon, lat, district


class CoordinateIssue:
    """Codes of `reported_coordinates`' issue array (index into the caller's labels)."""

    NONE, NULL_ISLAND, OUT_OF_RANGE, OUTSIDE_CITY, MISSING = range(5)


def reported_coordinates(
    rng: np.random.Generator,
    lon: np.ndarray,
    lat: np.ndarray,
    may_omit: np.ndarray,
    omit_share: float,
    invalid_share: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon, lat, issue code): GPS noise of 10-30 m; NaN where the resident gave only an address
    (drawn among `may_omit`); a few null islands, impossible values and far-away points."""
    n = len(lon)
    out_lon, out_lat = jitter(rng, lon, lat, 10.0, 30.0)
    missing = may_omit & (rng.random(n) < omit_share)
    kind = np.where(~missing & (rng.random(n) < invalid_share), rng.integers(1, 4, n), 0)
    far = rng.uniform(1.5, 5.0, n) * rng.choice([-1, 1], n)
    cases = [
        kind == CoordinateIssue.NULL_ISLAND,
        kind == CoordinateIssue.OUT_OF_RANGE,
        kind == CoordinateIssue.OUTSIDE_CITY,
    ]
    out_lat = np.select(cases, [0.0, rng.choice([123.4, -95.2, 91.5], n), lat + far], out_lat)
    out_lon = np.select(cases, [0.0, lon, lon - far], out_lon)
    out_lon[missing] = out_lat[missing] = np.nan
    issue = np.where(missing, CoordinateIssue.MISSING, kind)
    return out_lon.round(6), out_lat.round(6), issue
