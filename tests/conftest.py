"""Shared fixtures: a tiny two-okrug city and raw request batches built from plain rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from models.cities.pack import CityPack
from schemas import requests as rq
from schemas.taxonomy import TaxonomyEntry


def square(west: float, south: float, size: float) -> dict:
    ring = [[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


TINY_CITY = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"code": "N1", "title": "North One", "okrug": "N", "okrug_name": "North"},
         "geometry": square(37.0, 55.1, 0.1)},
        {"type": "Feature", "properties": {"code": "N2", "title": "North Two", "okrug": "N", "okrug_name": "North"},
         "geometry": square(37.1, 55.1, 0.1)},
        {"type": "Feature", "properties": {"code": "S1", "title": "South One", "okrug": "S", "okrug_name": "South"},
         "geometry": square(37.0, 55.0, 0.1)},
    ],
}
TINY_TAXONOMY = [
    TaxonomyEntry("road_damage", "roads", 8, "Pothole", "Яма"),
    TaxonomyEntry("noise", "police", 1, "Noise", "Шум"),
]


@pytest.fixture()
def tiny_pack(tmp_path: Path) -> CityPack:
    return CityPack.create(
        "tiny", tmp_path / "cities" / "tiny", TINY_CITY, name_field="title", id_field="code",
        parent_field="okrug", parent_name_field="okrug_name", taxonomy=TINY_TAXONOMY,
        timezone="Europe/Moscow",
    )


def raw_batch(rows: list[dict], source: str = "test", source_file: str = "inline.csv") -> pa.RecordBatch:
    """A RAW_REQUEST batch: every Open311 field as text, positions in row order."""
    columns = {name: [row.get(name) for row in rows] for name in rq.OPEN311_FIELDS}
    columns[rq.SOURCE] = [source] * len(rows)
    columns[rq.SOURCE_FILE] = [source_file] * len(rows)
    columns[rq.SOURCE_POSITION] = list(range(len(rows)))
    columns[rq.UNREADABLE_RECORD] = [row.get(rq.UNREADABLE_RECORD) for row in rows]
    return pa.RecordBatch.from_pydict(columns, schema=rq.RAW_REQUEST)


def frame_of(rows: list[dict]) -> pl.DataFrame:
    return pl.from_arrow(raw_batch(rows))
