"""The synthetic demo city: a Moscow-like megacity that ships embedded so UrbanPulse runs offline.

Geometry is built in a local kilometre frame centred on (55.75 N, 37.62 E) and only then mapped
to longitude/latitude, so sizes read naturally. Okrugs are a Voronoi partition of a central seed
and a ring of seeds, clipped to a wavy elliptical outline; each okrug is split again by a
Lloyd-relaxed Voronoi of its own seeds. Both levels therefore tile the city exactly, with no
overlaps. Streets are polylines inside the outline with odd/even house numbers on either side;
every house records the district polygon that contains its point, computed on the final
geometries so the gazetteer and the boundaries can never disagree.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import shapely

from models.cities.pack import CityPack
from schemas import citypack as cp
from schemas.taxonomy import DEMO_TAXONOMY
from synthetic import demo_city_names as names

DEMO_CITY_NAME = "demo"
DEMO_TIMEZONE = "Europe/Moscow"
CENTER_LAT = 55.75
CENTER_LON = 37.62
HALF_WIDTH_KM = 15.0  # east-west: the city is about 30 km wide ...
HALF_HEIGHT_KM = 12.5  # ... and 25 km tall
RING_RADIUS_KM = 8.0
TARGET_DISTRICTS = 46
STREET_COUNT = 300

# Property names of the boundaries GeoJSON handed to CityPack.create, styled after the Moscow
# open-data layers (a source vocabulary: the pack renames them to schemas.citypack names).
_SRC_NAME = "NAME"
_SRC_ID = "CODE"
_SRC_PARENT_ID = "OKRUG_CODE"
_SRC_PARENT_NAME = "NAME_AO"
_SRC_POPULATION = "POPULATION"

_KM_PER_DEG_LAT = 111.2
_KM_PER_DEG_LON = 111.32 * math.cos(math.radians(CENTER_LAT))

# Street length range (km) and house spacing range (km) per Russian street type.
_STREET_LENGTH = {
    "ул.": (0.8, 3.5),
    "пер.": (0.3, 1.0),
    "пр-т": (3.0, 7.0),
    "бул.": (1.0, 3.0),
    "пл.": (0.15, 0.35),
    "наб.": (1.5, 4.0),
    "ш.": (4.0, 9.0),
}
_STREET_TURN_DEG = {"наб.": 35.0, "ш.": 8.0, "пр-т": 6.0}
_HOUSE_SPACING = (0.03, 0.06)
_HOUSE_SETBACK = (0.015, 0.03)


def build_demo_city(root: Path, seed: int = 7) -> CityPack:
    """Build (or rebuild) the demo city pack at `root`; the same seed gives the same city."""
    rng = np.random.default_rng(seed)
    outline = _outline(rng)
    okrugs = _okrug_cells(outline, rng)
    features, district_geoms, district_ids = _district_features(okrugs, rng)
    gazetteer = _gazetteer(outline, district_geoms, district_ids, rng)
    return CityPack.create(
        name=DEMO_CITY_NAME,
        root=root,
        boundaries={"type": "FeatureCollection", "features": features},
        name_field=_SRC_NAME,
        id_field=_SRC_ID,
        parent_field=_SRC_PARENT_ID,
        parent_name_field=_SRC_PARENT_NAME,
        population_field=_SRC_POPULATION,
        taxonomy=list(DEMO_TAXONOMY),
        gazetteer=gazetteer,
        timezone=DEMO_TIMEZONE,
    )


def km_to_lonlat(coords: np.ndarray) -> np.ndarray:
    """Map local (east km, north km) pairs to (lon, lat); linear, so partitions stay partitions."""
    out = np.empty_like(coords, dtype=float)
    out[:, 0] = CENTER_LON + coords[:, 0] / _KM_PER_DEG_LON
    out[:, 1] = CENTER_LAT + coords[:, 1] / _KM_PER_DEG_LAT
    return out


# ---------------------------------------------------------------------------------- geometry
def _outline(rng: np.random.Generator) -> shapely.Polygon:
    """An ellipse with a gentle wobble: star-shaped, so every clip below stays one polygon."""
    theta = np.linspace(0.0, 2 * math.pi, 160, endpoint=False)
    phase = rng.uniform(0, 2 * math.pi, size=2)
    wobble = 1 + 0.06 * np.sin(3 * theta + phase[0]) + 0.035 * np.sin(5 * theta + phase[1])
    x = HALF_WIDTH_KM * np.cos(theta) * wobble
    y = HALF_HEIGHT_KM * np.sin(theta) * wobble
    return shapely.Polygon(np.column_stack([x, y]))


def _okrug_cells(outline: shapely.Polygon, rng: np.random.Generator) -> list[shapely.Geometry]:
    seeds = [(0.0, 0.0)]
    for _, bearing in names.RING_OKRUGS:
        angle = math.radians(bearing + rng.uniform(-6, 6))
        radius = RING_RADIUS_KM * rng.uniform(0.9, 1.1)
        seeds.append((radius * math.sin(angle), radius * math.cos(angle)))
    return _voronoi_clip(np.array(seeds), outline)


def _voronoi_clip(seeds: np.ndarray, region: shapely.Geometry) -> list[shapely.Geometry]:
    cells = shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=region.buffer(5.0), ordered=True
    )
    clipped = [shapely.intersection(cell, region) for cell in shapely.get_parts(cells)]
    return [_polygonal(geom) for geom in clipped]


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Drop the points and lines a clip can leave behind; keep (Multi)Polygons as they are."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _sample_inside(region: shapely.Geometry, count: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = region.bounds
    shapely.prepare(region)
    found: list[np.ndarray] = []
    while sum(len(f) for f in found) < count:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(count * 4, 2))
        found.append(xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])])
    return np.concatenate(found)[:count]


def _district_features(
    okrugs: list[shapely.Geometry], rng: np.random.Generator
) -> tuple[list[dict], list[shapely.Geometry], list[str]]:
    total_area = sum(o.area for o in okrugs)
    central_names = list(rng.permutation(names.CENTRAL_DISTRICTS))
    outer_names = list(rng.permutation(names.OUTER_DISTRICTS))
    okrug_names = [names.CENTRAL_OKRUG] + [name for name, _ in names.RING_OKRUGS]
    properties: list[dict] = []
    cells: list[shapely.Geometry] = []
    for okrug_no, (okrug, okrug_name) in enumerate(zip(okrugs, okrug_names, strict=True), 1):
        count = int(np.clip(round(okrug.area / total_area * TARGET_DISTRICTS), 3, 6))
        seeds = _sample_inside(okrug, count, rng)
        for _ in range(4):  # Lloyd relaxation: compact, evenly sized districts
            seeds = np.array([c.centroid.coords[0] for c in _voronoi_clip(seeds, okrug)])
        pool = central_names if okrug_no == 1 else outer_names
        for district_no, cell in enumerate(_voronoi_clip(seeds, okrug), 1):
            cells.append(shapely.transform(cell, km_to_lonlat))
            properties.append(
                {
                    _SRC_NAME: str(pool.pop()),
                    _SRC_ID: f"D-{okrug_no:02d}-{district_no:02d}",
                    _SRC_PARENT_ID: f"AO-{okrug_no:02d}",
                    _SRC_PARENT_NAME: f"{okrug_name} {names.OKRUG_SUFFIX}",
                    _SRC_POPULATION: int(rng.integers(500, 2501)) * 100,
                }
            )
    # Districts clipped by different okrugs meet at vertices only one side has (T-junctions),
    # leaving zero-width slivers between them; cleaning the coverage makes shared edges
    # identical, so every point of the city falls in exactly one district.
    geoms = list(shapely.coverage_clean(np.asarray(cells, dtype=object), gap_width=1e-9))
    features = [
        {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}
        for props, geom in zip(properties, geoms, strict=True)
    ]
    return features, geoms, [props[_SRC_ID] for props in properties]


# ---------------------------------------------------------------------------------- gazetteer
def _street_names(rng: np.random.Generator) -> list[tuple[str, str, str, str]]:
    """Unique (name_ru, type_ru, name_en, type_en) tuples; adjectives agree with the type."""
    weights = np.array([t[3] for t in names.STREET_TYPES])
    type_picks = rng.choice(
        len(names.STREET_TYPES), size=STREET_COUNT * 3, p=weights / weights.sum()
    )
    seen: set[tuple[str, str]] = set()
    streets: list[tuple[str, str, str, str]] = []
    for type_no in type_picks:
        type_ru, gender, type_en, _ = names.STREET_TYPES[type_no]
        if rng.random() < 0.6:
            stem, ending = names.ADJECTIVES[rng.integers(len(names.ADJECTIVES))]
            name_ru = names.adjective_form(stem, ending, gender)
            name_en = names.transliterate(name_ru)
            if gender != "n" and type_ru in ("ул.", "пер.") and rng.random() < 0.12:
                number = int(rng.integers(1, 5))
                name_ru = f"{number}-{'я' if gender == 'f' else 'й'} {name_ru}"
                name_en = f"{names.ordinal_en(number)} {name_en}"
        else:
            name_ru = names.GENITIVES[rng.integers(len(names.GENITIVES))]
            name_en = names.transliterate(name_ru)
        if (name_ru, type_ru) in seen:
            continue
        seen.add((name_ru, type_ru))
        streets.append((name_ru, type_ru, name_en, type_en))
        if len(streets) == STREET_COUNT:
            break
    return streets


def _street_line(
    type_ru: str, outline: shapely.Polygon, rng: np.random.Generator
) -> shapely.LineString:
    """A gently turning polyline; avenues and highways run roughly radially, like Moscow's."""
    inner = outline.buffer(-0.3)
    while True:
        start = _sample_inside(inner, 1, rng)[0]
        low, high = _STREET_LENGTH[type_ru]
        length = rng.uniform(low, high)
        if type_ru in ("пр-т", "ш."):
            heading = math.atan2(start[1], start[0]) + math.radians(rng.normal(0, 12))
        else:
            heading = rng.uniform(0, 2 * math.pi)
        segments = max(1, int(length / 0.6))
        turn = math.radians(_STREET_TURN_DEG.get(type_ru, 12.0))
        headings = heading + np.cumsum(rng.normal(0, turn, size=segments))
        steps = np.column_stack([np.cos(headings), np.sin(headings)]) * (length / segments)
        line = shapely.LineString(np.vstack([start, start + np.cumsum(steps, axis=0)]))
        clipped = shapely.intersection(line, inner)
        parts = [p for p in shapely.get_parts(clipped) if p.geom_type == "LineString"]
        if parts:
            best = max(parts, key=lambda p: p.length)
            if best.length >= min(low, 0.15):
                return best


def _house_numbers(count: int, first: int, rng: np.random.Generator) -> list[str]:
    """Odd or even numbers with the Moscow suffixes: 15к2, 43/14, 7 стр. 1, 12А."""
    numbers = first + 2 * np.arange(count)
    form = rng.choice(5, size=count, p=[0.80, 0.07, 0.04, 0.04, 0.05])
    extra = rng.integers(1, 4, size=count)
    cross = rng.integers(1, 60, size=count)
    out = []
    for n, f, e, c in zip(
        numbers.tolist(), form.tolist(), extra.tolist(), cross.tolist(), strict=True
    ):
        out.append((str(n), f"{n}к{e}", f"{n}/{c}", f"{n} стр. {e}", f"{n}{'АБВ'[e - 1]}")[f])
    return out


def _gazetteer(
    outline: shapely.Polygon,
    district_geoms: list[shapely.Geometry],
    district_ids: list[str],
    rng: np.random.Generator,
) -> pl.DataFrame:
    columns: dict[str, list] = {name: [] for name in cp.GAZETTEER.names}
    for name_ru, type_ru, name_en, type_en in _street_names(rng):
        line = _street_line(type_ru, outline, rng)
        spacing = rng.uniform(*_HOUSE_SPACING)
        per_side = max(1, int(line.length / spacing))
        along = (np.arange(per_side) + rng.uniform(0.2, 0.8)) * (line.length / per_side)
        ahead = shapely.line_interpolate_point(line, np.minimum(along + 0.005, line.length))
        here = shapely.get_coordinates(shapely.line_interpolate_point(line, along))
        tangent = shapely.get_coordinates(ahead) - here
        tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
        normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
        for side, first in ((1.0, 1), (-1.0, 2)):  # odd numbers on the left, even on the right
            setback = rng.uniform(*_HOUSE_SETBACK, size=(per_side, 1))
            lonlat = km_to_lonlat(here + side * normal * setback).round(6)
            columns[cp.STREET] += [name_ru] * per_side
            columns[cp.STREET_TYPE] += [type_ru] * per_side
            columns[cp.STREET_EN] += [name_en] * per_side
            columns[cp.STREET_TYPE_EN] += [type_en] * per_side
            columns[cp.HOUSE] += _house_numbers(per_side, first, rng)
            columns[cp.GAZ_LONG] += lonlat[:, 0].tolist()
            columns[cp.GAZ_LAT] += lonlat[:, 1].tolist()
    lon = np.asarray(columns[cp.GAZ_LONG])
    lat = np.asarray(columns[cp.GAZ_LAT])
    owner = np.full(len(lon), -1)
    for position, geom in enumerate(district_geoms):
        shapely.prepare(geom)
        owner[(owner < 0) & shapely.contains_xy(geom, lon, lat)] = position
    columns[cp.DISTRICT_ID] = [district_ids[o] if o >= 0 else None for o in owner.tolist()]
    frame = pl.from_arrow(pa.table(columns, schema=cp.GAZETTEER))
    # A house set back across the city limit belongs to no district: it is not in the city.
    return frame.filter(pl.col(cp.DISTRICT_ID).is_not_null())
