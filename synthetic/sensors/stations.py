"""Synthetic monitoring stations: points inside a city pack's districts, denser in the centre."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import shapely

from models.cities.pack import CityPack
from schemas.requests import DISTRICT_ID, LAT, LONG
from schemas.sensors import STATION_ID, STATION_NAME
from synthetic.requests.generator import SyntheticDataError

_KM_PER_DEG_LAT = 111.2
CENTRE_SCALE = 0.5  # centrality falls by e every half city radius from the centre


def city_frame(pack: CityPack) -> tuple[float, float, float]:
    """(centre longitude, centre latitude, radius in km) of the pack's districts."""
    city = shapely.union_all(pack.geometries)
    centre = city.centroid
    km_lon = _KM_PER_DEG_LAT * math.cos(math.radians(centre.y))
    area = city.area * km_lon * _KM_PER_DEG_LAT
    return centre.x, centre.y, max(math.sqrt(area / math.pi), 1e-3)


def centrality(pack: CityPack, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """1 at the city centre, falling exponentially with distance (in city radii)."""
    x0, y0, radius = city_frame(pack)
    km_lon = _KM_PER_DEG_LAT * math.cos(math.radians(y0))
    distance = np.hypot((lon - x0) * km_lon, (lat - y0) * _KM_PER_DEG_LAT)
    return np.exp(-distance / (radius * CENTRE_SCALE))


def generate_stations(pack: CityPack, count: int, seed: int = 0) -> pl.DataFrame:
    """`count` stations: STATION columns (station_id, station_name, lat, long) + district_id.

    Districts are drawn with weight area x exp(-distance / scale), so stations are denser in
    the centre; each point is drawn uniformly inside its district polygon (rejection sampling
    in the bounding box, vectorised over stations). Ids are `ST0001`... in draw order.
    """
    if count < 1 or not pack.geometries:
        raise SyntheticDataError(
            f"need a positive station count and a pack with districts, got {count}")
    rng = np.random.default_rng([seed, 0x5E5])
    geoms = np.array(pack.geometries, dtype=object)
    centres = shapely.centroid(geoms)
    where = centrality(pack, shapely.get_y(centres), shapely.get_x(centres))
    weight = shapely.area(geoms) * where
    district = rng.choice(len(geoms), size=count, p=weight / weight.sum())
    lon, lat = _points_in(geoms[district], rng)
    names = np.array(pack.district_names, dtype=object)[district]
    frame = pl.DataFrame({
        STATION_ID: [f"ST{i + 1:04d}" for i in range(count)],
        "_district_name": names.tolist(),
        LAT: lat, LONG: lon,
        DISTRICT_ID: np.array(pack.district_ids, dtype=object)[district].tolist(),
    }, schema_overrides={LAT: pl.Float64, LONG: pl.Float64})
    number = pl.int_range(pl.len()).over(DISTRICT_ID) + 1
    return frame.select(
        STATION_ID,
        pl.format("{} {}", pl.col("_district_name"), number).alias(STATION_NAME),
        LAT, LONG, DISTRICT_ID,
    )


def _points_in(geoms: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One uniform point inside each geometry (lon, lat)."""
    bounds = shapely.bounds(geoms)
    lon, lat = np.empty(len(geoms)), np.empty(len(geoms))
    todo = np.arange(len(geoms))
    while todo.size:
        b = bounds[todo]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        inside = shapely.contains_xy(geoms[todo], x, y)
        lon[todo[inside]], lat[todo[inside]] = x[inside], y[inside]
        todo = todo[~inside]
    return lon, lat
