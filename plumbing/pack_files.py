"""What the feed reads of a city pack besides district names: time zone, taxonomy, district shapes.

The feed may not load `models` (`tests/test_layout.py`), so these read the pack's own files
(`schemas.citypack`) with json and polars, once per version of each file (path, mtime, size).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from schemas import citypack as cp
from schemas import taxonomy as tx

DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class DistrictShape:
    """One district feature of the pack: id, name, residents (None when unknown), GeoJSON geometry."""

    district_id: str
    name: str
    residents: float | None
    geometry: dict


def file_version(path: Path) -> tuple[int, int] | None:
    """(modification time, size) of a file, None when it is absent: what a cache keys on."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def pack_timezone(pack_root: Path) -> str:
    """The city's time zone from its manifest (`city.json`), UTC when there is no pack."""
    path = Path(pack_root) / cp.PACK_MANIFEST_FILE
    version = file_version(path)
    return _timezone(path, *version) if version else DEFAULT_TIMEZONE


@lru_cache(maxsize=8)
def _timezone(path: Path, _mtime: int, _size: int) -> str:
    return str(json.loads(path.read_text(encoding="utf-8")).get(cp.MANIFEST_TIMEZONE) or DEFAULT_TIMEZONE)


def district_shapes(pack_root: Path) -> tuple[DistrictShape, ...]:
    """The pack's districts with their polygons, in file order; none when the city has no pack."""
    path = Path(pack_root) / cp.PACK_DISTRICTS_FILE
    version = file_version(path)
    return _shapes(path, *version) if version else ()


@lru_cache(maxsize=8)
def _shapes(path: Path, _mtime: int, _size: int) -> tuple[DistrictShape, ...]:
    shapes = []
    for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
        props = feature["properties"]
        residents = props.get(cp.POPULATION)
        shapes.append(DistrictShape(
            str(props[cp.DISTRICT_ID]), str(props[cp.DISTRICT_NAME]),
            float(residents) if isinstance(residents, int | float) and residents > 0 else None,
            feature["geometry"],
        ))
    return tuple(shapes)


def taxonomy_routes(pack_root: Path) -> pl.DataFrame:
    """category -> department, sla_days of the pack's taxonomy (empty when it has none)."""
    path = Path(pack_root) / cp.PACK_TAXONOMY_FILE
    version = file_version(path)
    if version is None:
        return pl.DataFrame(schema={tx.TAXONOMY_CATEGORY: pl.String, tx.TAXONOMY_DEPARTMENT: pl.String,
                                    tx.TAXONOMY_SLA_DAYS: pl.Float64})
    return _taxonomy(path, *version)


@lru_cache(maxsize=8)
def _taxonomy(path: Path, _mtime: int, _size: int) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False)
    return frame.select(
        pl.col(tx.TAXONOMY_CATEGORY), pl.col(tx.TAXONOMY_DEPARTMENT),
        pl.col(tx.TAXONOMY_SLA_DAYS).cast(pl.Float64),
    ).unique(tx.TAXONOMY_CATEGORY, keep="first", maintain_order=True)
