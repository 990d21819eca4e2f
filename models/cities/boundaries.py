"""A city's own districts GeoJSON turned into pack features (`schemas.citypack` vocabulary).

Kept apart from `models.cities.pack` so that the renaming of a city's field names, and the
attaching of each district to its parent area, can be read and changed in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import shapely

from models.cities.errors import CityPackError
from schemas import citypack as cp

ParentLookup = Callable[[shapely.Geometry], tuple[str | None, str | None]]


@dataclass(frozen=True)
class SourceFields:
    """Which properties of the source districts hold the pack's fields (None: not given)."""

    name: str
    id: str | None
    parent: str | None
    parent_name: str | None
    population: str | None


def pack_features(
    boundaries: Path | str | dict, fields: SourceFields, parents: Path | str | dict | None
) -> list[dict]:
    """Every district of `boundaries` in the pack vocabulary; refuses duplicate district ids.

    The parent level comes from `parents` (a GeoJSON of parent areas, matched by each district's
    representative point) when given, else from the districts' own properties.
    """
    collection = read_geojson(boundaries)
    lookup = _parent_lookup(parents, fields.parent, fields.parent_name) if parents else None
    features = [
        _pack_feature(position, feature, fields, lookup)
        for position, feature in enumerate(collection["features"])
    ]
    ids = [f["properties"][cp.DISTRICT_ID] for f in features]
    if len(set(ids)) != len(ids):
        raise CityPackError(
            f"district ids are not unique in {boundaries!s:.80}; pass an --id-field that is"
        )
    return features


def read_geojson(source: Path | str | dict) -> dict:
    if isinstance(source, dict):
        return source
    path = Path(source)
    if not path.exists():
        raise CityPackError(f"boundaries file {path} does not exist")
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CityPackError(f"{path} is not valid GeoJSON: {exc}") from exc
    if collection.get("type") != "FeatureCollection" or not collection.get("features"):
        raise CityPackError(f"{path} must be a non-empty GeoJSON FeatureCollection")
    return collection


def _pack_feature(
    position: int, feature: dict, fields: SourceFields, parent_lookup: ParentLookup | None
) -> dict:
    """One district renamed to the pack vocabulary, with its geometry made valid."""
    props = feature.get("properties") or {}
    if fields.name not in props:
        raise CityPackError(
            f"district feature {position} has no property {fields.name!r}; "
            f"available: {sorted(props)}. Pass the right --name-field."
        )
    geometry = shapely.make_valid(shapely.geometry.shape(feature["geometry"]))
    district_id = props[fields.id] if fields.id else props[fields.name]
    parent_id, parent_name = _district_parent(props, geometry, fields, parent_lookup)
    return {
        "type": "Feature",
        "properties": {
            cp.DISTRICT_ID: str(district_id),
            cp.DISTRICT_NAME: str(props[fields.name]),
            cp.PARENT_ID: None if parent_id is None else str(parent_id),
            cp.PARENT_NAME: None if parent_name is None else str(parent_name),
            cp.POPULATION: props.get(fields.population) if fields.population else None,
        },
        "geometry": shapely.geometry.mapping(geometry),
    }


def _district_parent(
    props: dict, geometry: shapely.Geometry, fields: SourceFields,
    parent_lookup: ParentLookup | None,
) -> tuple[str | None, str | None]:
    """(id, name) of the district's parent: a parents file wins over the district's properties;
    without a name property the parent's id doubles as its name."""
    if parent_lookup is not None:
        return parent_lookup(geometry)
    if fields.parent:
        parent_id = props.get(fields.parent)
        return parent_id, (props.get(fields.parent_name) if fields.parent_name else parent_id)
    return None, None


def _parent_lookup(parents, id_field: str | None, name_field: str | None) -> ParentLookup:
    collection = read_geojson(parents)
    if not id_field and not name_field:
        raise CityPackError("a parents file needs --parent-field and/or --parent-name-field")
    geoms = [shapely.make_valid(shapely.geometry.shape(f["geometry"])) for f in collection["features"]]
    props = [f.get("properties") or {} for f in collection["features"]]

    def lookup(district: shapely.Geometry) -> tuple[str | None, str | None]:
        point = district.representative_point()
        for geom, p in zip(geoms, props, strict=True):
            if geom.contains(point):
                pid = p.get(id_field) if id_field else p.get(name_field)
                return pid, p.get(name_field) if name_field else pid
        return None, None

    return lookup
