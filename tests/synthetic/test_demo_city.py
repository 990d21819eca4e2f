"""The demo city pack: a valid tiling of districts, okrugs above them, and a gazetteer that agrees
with the boundaries house by house."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import shapely
from polars.testing import assert_frame_equal

from models.cities.pack import CityPack
from schemas import citypack as cp
from schemas.taxonomy import DEMO_TAXONOMY, TAXONOMY_CATEGORY
from synthetic.demo_city import CENTER_LAT, DEMO_TIMEZONE, build_demo_city

CYRILLIC = re.compile(r"^[А-ЯЁ][А-Яа-яЁё -]+$")


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> CityPack:
    return build_demo_city(tmp_path_factory.mktemp("cities") / "demo", seed=7)


@pytest.fixture(scope="module")
def districts(pack: CityPack) -> pl.DataFrame:
    return pack.districts_frame()


def test_levels_sizes_and_names(pack: CityPack, districts: pl.DataFrame) -> None:
    per_okrug = districts.group_by(cp.PARENT_ID).len()
    assert per_okrug.height >= 8
    assert districts.height >= 30
    assert per_okrug.get_column("len").is_between(3, 6).all()
    assert districts.get_column(cp.DISTRICT_ID).is_unique().all()
    assert districts.get_column(cp.DISTRICT_NAME).is_unique().all()
    assert districts.get_column(cp.DISTRICT_NAME).str.contains(CYRILLIC.pattern).all()
    assert districts.get_column(cp.PARENT_ID).str.contains(r"^AO-\d{2}$").all()
    assert districts.get_column(cp.DISTRICT_ID).str.contains(r"^D-\d{2}-\d{2}$").all()
    assert districts.get_column(cp.PARENT_NAME).str.ends_with("административный округ").all()
    assert districts.get_column(cp.POPULATION).is_between(50_000, 250_000).all()
    assert pack.has_parent_level
    assert pack.timezone == DEMO_TIMEZONE
    taxonomy = pack.taxonomy.get_column(TAXONOMY_CATEGORY).to_list()
    assert taxonomy == [entry.category for entry in DEMO_TAXONOMY]


def test_districts_tile_the_city_without_overlap(pack: CityPack) -> None:
    geoms = np.asarray(pack.geometries, dtype=object)
    assert shapely.is_valid(geoms).all()
    assert shapely.coverage_is_valid(geoms)  # no overlaps, shared edges identical
    assert set(shapely.get_type_id(geoms)) <= {3, 6}  # Polygon, MultiPolygon
    union = shapely.union_all(geoms)
    assert math.isclose(union.area, shapely.area(geoms).sum(), rel_tol=1e-9)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    shared = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert shared.max() < union.area * 1e-9
    assert union.geom_type == "Polygon"  # one city ...
    assert shapely.get_num_interior_rings(union) == 0  # ... with no gaps between districts
    minx, miny, maxx, maxy = union.bounds
    width_km = (maxx - minx) * 111.32 * math.cos(math.radians(CENTER_LAT))
    height_km = (maxy - miny) * 111.2
    assert 26 <= width_km <= 36 and 21 <= height_km <= 30


def test_okrugs_are_contiguous_groups(pack: CityPack, districts: pl.DataFrame) -> None:
    geoms = np.asarray(pack.geometries, dtype=object)
    parents = districts.get_column(cp.PARENT_ID).to_numpy()
    for parent in np.unique(parents):
        okrug = shapely.union_all(geoms[parents == parent])
        assert okrug.geom_type == "Polygon", parent


def test_gazetteer_houses_sit_in_their_district(pack: CityPack) -> None:
    gazetteer = pack.gazetteer
    assert gazetteer is not None
    assert gazetteer.columns == cp.GAZETTEER.names
    assert 20_000 <= gazetteer.height <= 40_000
    assert gazetteer.null_count().row(0) == (0,) * len(cp.GAZETTEER.names)
    points = shapely.points(gazetteer[cp.GAZ_LONG].to_numpy(), gazetteer[cp.GAZ_LAT].to_numpy())
    house, district = shapely.STRtree(pack.geometries).query(points, predicate="within")
    assert np.array_equal(np.sort(house), np.arange(gazetteer.height))  # each in exactly one
    found = np.empty(gazetteer.height, dtype=object)
    found[house] = np.asarray(pack.district_ids, dtype=object)[district]
    assert found.tolist() == gazetteer.get_column(cp.DISTRICT_ID).to_list()
    assert gazetteer.get_column(cp.DISTRICT_ID).n_unique() == len(pack.district_ids)


def test_gazetteer_streets_and_house_numbers(pack: CityPack) -> None:
    gazetteer = pack.gazetteer
    streets = gazetteer.unique([cp.STREET, cp.STREET_TYPE])
    assert 250 <= streets.height <= 300
    pairs = set(streets.select(cp.STREET_TYPE, cp.STREET_TYPE_EN).iter_rows())
    assert pairs == {("ул.", "St"), ("пр-т", "Ave"), ("пер.", "Ln"), ("наб.", "Emb"),
                     ("бул.", "Blvd"), ("ш.", "Hwy"), ("пл.", "Sq")}  # fmt: skip
    assert streets.get_column(cp.STREET_EN).str.contains(r"^[0-9A-Za-z][0-9A-Za-z -]+$").all()
    assert streets.get_column(cp.STREET).str.contains(r"[а-яё]").all()
    assert gazetteer.select(cp.STREET, cp.STREET_TYPE, cp.HOUSE).is_unique().all()
    houses = gazetteer.get_column(cp.HOUSE)
    for form in (r"^\d+$", r"^\d+к\d$", r"^\d+/\d+$", r"^\d+ стр\. \d$", r"^\d+[АБВ]$"):
        assert houses.str.contains(form).any(), form
    assert houses.str.contains(r"^\d+$").mean() > 0.7


def test_same_seed_same_city_other_seed_other_city(pack: CityPack, tmp_path: Path) -> None:
    again = build_demo_city(tmp_path / "again", seed=7)
    assert_frame_equal(again.districts_frame(), pack.districts_frame())
    assert_frame_equal(again.gazetteer, pack.gazetteer)
    assert all(a.equals_exact(b, 0) for a, b in zip(again.geometries, pack.geometries, strict=True))
    other = build_demo_city(tmp_path / "other", seed=8)
    assert other.gazetteer.height != pack.gazetteer.height or not other.gazetteer.equals(
        pack.gazetteer
    )


def test_pack_round_trips_through_load(pack: CityPack) -> None:
    loaded = CityPack.load(pack.root)
    assert_frame_equal(loaded.districts_frame(), pack.districts_frame())
    assert_frame_equal(loaded.gazetteer, pack.gazetteer)
