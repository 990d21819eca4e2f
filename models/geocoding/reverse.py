"""Reverse geocoding: coordinates -> district, parent level and H3 cell, over whole columns.

A point-in-polygon test per point costs ~10 us with shapely's STRtree, too slow for millions of
requests. The pack's districts are rasterised once into a grid of small cells: a cell that no
district boundary crosses lies wholly inside one district (or outside all), so its label answers
every point in it with one array lookup. Only points in cells that a boundary crosses get the exact
shapely test, against the few districts that touch that cell. The grid is cached next to the pack.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import h3.api.numpy_int as h3_int
import numpy as np
import polars as pl
import shapely

from models.cities.pack import CityPack
from schemas import citypack as cp
from schemas.requests import (
    DISTRICT_ID,
    DISTRICT_NAME,
    GEOCODE_ISSUE,
    GEOCODE_PRECISION,
    H3_CELL,
    PARENT_ID,
    PARENT_NAME,
    GeocodeIssue,
    GeocodePrecision,
)

GRID_CELLS_ALONG_LONGEST_SIDE = 2000
OUTSIDE = -1
AMBIGUOUS = -2
NULL_ISLAND_TOLERANCE = 1e-6
GRID_CACHE_FILE = "district_grid.npz"


@dataclass(frozen=True)
class _Grid:
    west: float
    south: float
    cell: float
    labels: np.ndarray  # int32 [rows, cols]: district index, OUTSIDE or AMBIGUOUS
    candidates: np.ndarray  # int32 [ambiguous cells, k]: districts touching the cell, -1 padded
    ambiguous_index: np.ndarray  # int64 [rows * cols]: row in `candidates` for AMBIGUOUS cells


class ReverseGeocoder:
    def __init__(self, pack: CityPack) -> None:
        self.pack = pack
        self._geometries = pack.geometries
        for geometry in self._geometries:
            shapely.prepare(geometry)
        self._grid = _load_or_build_grid(pack)
        self._districts = pack.districts_frame()

    def locate(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """District index per point (OUTSIDE when no district contains it); inputs must be finite."""
        grid = self._grid
        rows_n, cols_n = grid.labels.shape
        col = np.floor((lon - grid.west) / grid.cell).astype(np.int64)
        row = np.floor((lat - grid.south) / grid.cell).astype(np.int64)
        inside_grid = (col >= 0) & (col < cols_n) & (row >= 0) & (row < rows_n)
        result = np.full(lat.shape[0], OUTSIDE, dtype=np.int32)
        flat = row[inside_grid] * cols_n + col[inside_grid]
        result[inside_grid] = grid.labels.ravel()[flat]
        ambiguous = np.flatnonzero(result == AMBIGUOUS)
        if ambiguous.size:
            result[ambiguous] = self._exact(lat[ambiguous], lon[ambiguous], row, col, ambiguous)
        return result

    def _exact(self, lat, lon, row, col, which) -> np.ndarray:
        grid = self._grid
        cells = row[which] * grid.labels.shape[1] + col[which]
        candidates = grid.candidates[grid.ambiguous_index[cells]]
        found = np.full(which.size, OUTSIDE, dtype=np.int32)
        for k in range(candidates.shape[1]):
            open_ = (found == OUTSIDE) & (candidates[:, k] >= 0)
            for district in np.unique(candidates[open_, k]):
                pick = np.flatnonzero(open_ & (candidates[:, k] == district))
                hit = shapely.contains_xy(self._geometries[district], lon[pick], lat[pick])
                found[pick[hit]] = district
        return found

    def predict_batch(self, lat: pl.Series, lon: pl.Series) -> pl.DataFrame:
        """District, parent, H3 cell, precision and issue for each coordinate pair (nulls allowed)."""
        lat_np = lat.cast(pl.Float64).fill_null(np.nan).to_numpy()
        lon_np = lon.cast(pl.Float64).fill_null(np.nan).to_numpy()
        missing = np.isnan(lat_np) | np.isnan(lon_np)
        in_range = ~missing & (np.abs(lat_np) <= 90) & (np.abs(lon_np) <= 180)
        null_island = in_range & (np.abs(lat_np) < NULL_ISLAND_TOLERANCE) & (
            np.abs(lon_np) < NULL_ISLAND_TOLERANCE
        )
        usable = in_range & ~null_island
        district = np.full(lat_np.shape[0], OUTSIDE, dtype=np.int32)
        usable_idx = np.flatnonzero(usable)
        district[usable_idx] = self.locate(lat_np[usable_idx], lon_np[usable_idx])
        located = district >= 0

        issue = np.full(lat_np.shape[0], None, dtype=object)
        issue[missing] = GeocodeIssue.MISSING
        issue[~missing & ~in_range] = GeocodeIssue.OUT_OF_RANGE
        issue[null_island] = GeocodeIssue.NULL_ISLAND
        issue[usable & ~located] = GeocodeIssue.OUTSIDE_CITY

        h3_cells = np.full(lat_np.shape[0], None, dtype=object)
        resolution = self.pack.h3_resolution
        located_idx = np.flatnonzero(located)
        h3_cells[located_idx] = [
            format(h3_int.latlng_to_cell(a, b, resolution), "x")
            for a, b in zip(lat_np[located_idx].tolist(), lon_np[located_idx].tolist(), strict=True)
        ]

        # one extra all-null row answers every point that is not in a district
        lookup = pl.concat([self._districts, self._districts.clear(1)])
        joined = lookup[np.where(located, district, len(self._districts))]
        return pl.DataFrame(
            {
                DISTRICT_ID: joined[cp.DISTRICT_ID],
                DISTRICT_NAME: joined[cp.DISTRICT_NAME],
                PARENT_ID: joined[cp.PARENT_ID],
                PARENT_NAME: joined[cp.PARENT_NAME],
                H3_CELL: pl.Series(h3_cells.tolist(), dtype=pl.String),
                GEOCODE_PRECISION: pl.Series(
                    np.where(located, GeocodePrecision.POINT, GeocodePrecision.NONE), dtype=pl.String
                ),
                GEOCODE_ISSUE: pl.Series(issue.tolist(), dtype=pl.String),
            }
        )


# ---------------------------------------------------------------------------------- grid build
def _pack_fingerprint(pack: CityPack) -> str:
    digest = hashlib.sha256()
    for geometry in pack.geometries:
        digest.update(shapely.to_wkb(geometry))
    digest.update(str(GRID_CELLS_ALONG_LONGEST_SIDE).encode())
    return digest.hexdigest()[:16]


def _load_or_build_grid(pack: CityPack) -> _Grid:
    fingerprint = _pack_fingerprint(pack)
    cache = Path(pack.root) / GRID_CACHE_FILE
    if cache.exists():
        with np.load(cache) as stored:
            meta = json.loads(str(stored["meta"]))
            if meta["fingerprint"] == fingerprint:
                return _Grid(
                    meta["west"], meta["south"], meta["cell"], stored["labels"],
                    stored["candidates"], stored["ambiguous_index"],
                )
    grid = build_grid(pack.geometries)
    meta = {"fingerprint": fingerprint, "west": grid.west, "south": grid.south, "cell": grid.cell}
    # a unique temporary name: parallel workers may build the same grid at once; the last
    # atomic rename wins and every reader sees a whole file
    tmp = cache.with_name(f".{uuid.uuid4().hex}.tmp.npz")
    np.savez_compressed(
        tmp, meta=json.dumps(meta), labels=grid.labels, candidates=grid.candidates,
        ambiguous_index=grid.ambiguous_index,
    )
    tmp.replace(cache)
    return grid


def build_grid(geometries: list[shapely.Geometry]) -> _Grid:
    west, south, east, north = shapely.total_bounds(geometries)
    cell = max(east - west, north - south) / GRID_CELLS_ALONG_LONGEST_SIDE
    west, south = west - cell, south - cell
    cols_n = int(np.ceil((east - west) / cell)) + 2
    rows_n = int(np.ceil((north - south) / cell)) + 2
    labels = np.full((rows_n, cols_n), OUTSIDE, dtype=np.int32)

    # 1. label every cell by the district that contains its centre
    for index, geometry in enumerate(geometries):
        g_west, g_south, g_east, g_north = shapely.bounds(geometry)
        c0, c1 = int((g_west - west) / cell), int((g_east - west) / cell) + 1
        r0, r1 = int((g_south - south) / cell), int((g_north - south) / cell) + 1
        cols, rows = np.meshgrid(np.arange(c0, c1), np.arange(r0, r1))
        xs, ys = west + (cols + 0.5) * cell, south + (rows + 0.5) * cell
        inside = shapely.contains_xy(geometry, xs.ravel(), ys.ravel())
        labels[rows.ravel()[inside], cols.ravel()[inside]] = index

    # 2. cells any boundary passes through (and their neighbours) need the exact test
    boundary = shapely.segmentize(shapely.boundary(np.asarray(geometries, dtype=object)), cell / 2)
    coords = shapely.get_coordinates(boundary)
    b_cols = np.floor((coords[:, 0] - west) / cell).astype(np.int64)
    b_rows = np.floor((coords[:, 1] - south) / cell).astype(np.int64)
    touched = np.zeros_like(labels, dtype=bool)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            touched[np.clip(b_rows + dr, 0, rows_n - 1), np.clip(b_cols + dc, 0, cols_n - 1)] = True

    # 3. for those cells, the exact set of districts whose polygon intersects the cell box
    amb_rows, amb_cols = np.nonzero(touched)
    boxes = shapely.box(
        west + amb_cols * cell, south + amb_rows * cell,
        west + (amb_cols + 1) * cell, south + (amb_rows + 1) * cell,
    )
    box_idx, geom_idx = shapely.STRtree(geometries).query(boxes, predicate="intersects")
    counts = np.bincount(box_idx, minlength=boxes.size)
    width = max(int(counts.max(initial=0)), 1)
    candidates = np.full((boxes.size, width), -1, dtype=np.int32)
    order = np.lexsort((geom_idx, box_idx))
    box_idx, geom_idx = box_idx[order], geom_idx[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(box_idx.size) - starts[box_idx]
    candidates[box_idx, slot] = geom_idx
    labels[amb_rows, amb_cols] = np.where(counts > 0, AMBIGUOUS, OUTSIDE)
    ambiguous_index = np.zeros(rows_n * cols_n, dtype=np.int32)
    ambiguous_index[amb_rows * cols_n + amb_cols] = np.arange(boxes.size)
    return _Grid(west, south, cell, labels, candidates, ambiguous_index)
