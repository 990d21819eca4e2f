"""A city pack's districts, read-only: ids, names and parent areas, without the geometry.

The feed names the districts in its rows and says which exist when asked for one that does not;
it may not load `models`, so this reads the pack's districts GeoJSON (its properties already in
the `schemas.citypack` vocabulary) with the standard json module, once per version of the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from schemas import citypack as cp


@dataclass(frozen=True)
class District:
    district_id: str
    district_name: str | None = None  # None only for a district the store names and no pack does
    parent_id: str | None = None
    parent_name: str | None = None


def read_districts(pack_root: Path) -> tuple[District, ...]:
    """The districts of the pack at `pack_root` in file order; none when the city has no pack."""
    path = Path(pack_root) / cp.PACK_DISTRICTS_FILE
    try:
        version = path.stat()
    except FileNotFoundError:
        return ()
    return _parse(path, version.st_mtime_ns, version.st_size)


def district_names(pack_root: Path) -> dict[str, str | None]:
    return {d.district_id: d.district_name for d in read_districts(pack_root)}


@lru_cache(maxsize=8)
def _parse(path: Path, _mtime_ns: int, _size: int) -> tuple[District, ...]:
    """Cached per (file, modification time, size): a rebuilt pack is read again."""
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    districts = []
    for feature in features:
        props = feature["properties"]
        parent_id, parent_name = props.get(cp.PARENT_ID), props.get(cp.PARENT_NAME)
        districts.append(District(
            str(props[cp.DISTRICT_ID]), str(props[cp.DISTRICT_NAME]),
            None if parent_id is None else str(parent_id), None if parent_name is None else str(parent_name),
        ))
    return tuple(districts)
