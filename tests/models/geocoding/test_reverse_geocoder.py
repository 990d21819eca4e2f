from __future__ import annotations

import numpy as np
import polars as pl
import shapely

from models.cities.pack import CityPack
from models.geocoding.reverse import OUTSIDE, ReverseGeocoder
from schemas import requests as rq
from schemas.requests import GeocodeIssue


def test_points_land_in_districts_with_parents_and_issues(tiny_pack: CityPack):
    geocoder = ReverseGeocoder(tiny_pack)
    lat = pl.Series([55.15, 55.05, 55.15, 0.0, None, 95.0, 10.0])
    lon = pl.Series([37.05, 37.05, 37.15, 0.0, 37.0, 37.0, 10.0])
    out = geocoder.predict_batch(lat, lon)
    assert out[rq.DISTRICT_ID].to_list() == ["N1", "S1", "N2", None, None, None, None]
    assert out[rq.PARENT_NAME].to_list()[:3] == ["North", "South", "North"]
    assert out[rq.GEOCODE_ISSUE].to_list()[3:] == [
        GeocodeIssue.NULL_ISLAND, GeocodeIssue.MISSING, GeocodeIssue.OUT_OF_RANGE, GeocodeIssue.OUTSIDE_CITY,
    ]
    assert out[rq.H3_CELL].null_count() == 4 and out[rq.H3_CELL][0].startswith("89")


def test_grid_lookup_agrees_with_exact_point_in_polygon(tiny_pack: CityPack):
    geocoder = ReverseGeocoder(tiny_pack)
    rng = np.random.default_rng(1)
    lat = 54.98 + rng.random(50_000) * 0.24
    lon = 36.98 + rng.random(50_000) * 0.24
    got = geocoder.locate(lat, lon)
    tree = shapely.STRtree(tiny_pack.geometries)
    point_idx, geom_idx = tree.query(shapely.points(lon, lat), predicate="intersects")
    expected = np.full(lat.size, OUTSIDE)
    expected[point_idx] = geom_idx  # squares share edges: any containing square is a right answer
    on_edge = np.bincount(point_idx, minlength=lat.size) > 1
    assert np.array_equal(got[~on_edge], expected[~on_edge])
