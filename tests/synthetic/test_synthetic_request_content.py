"""Synthetic requests, what they say and where: vocabulary, languages, texts, personal data,
addresses and coordinates, graded against the generator's answer key.

Their timing, versions, dead letters and file formats are in `test_synthetic_request_history.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import shapely
from demo_feed import COUNT, SEED, DemoFeed, true
from polars.testing import assert_frame_equal

from models.cities.pack import CityPack
from schemas import citypack as cp
from schemas import requests as rq
from schemas.personal_data import PII_END, PII_SPANS, PII_START, PII_TYPE, PiiType
from schemas.taxonomy import DEMO_TAXONOMY, TAXONOMY_CATEGORY
from synthetic.requests.generator import SyntheticDataError, generate_requests

PII_PATTERNS = {
    PiiType.PHONE: r"^(\+7 ?|8[ (-]?|\+1 |\()?[\d() -]{9,16}\d$",
    PiiType.EMAIL: r"^[a-z0-9._]+@[a-z]+\.[a-z]+$",
    PiiType.PERSON: r"^[A-ZА-ЯЁ][A-Za-zА-Яа-яЁё. ]+$",
    PiiType.FLAT: r"^(кв\.? ?|квартира |apt\.? |flat |Apt )\d+$",
}


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> DemoFeed:
    return DemoFeed.build(tmp_path_factory.mktemp("cities"))


def test_shape_and_vocabulary(feed: DemoFeed) -> None:
    records, truth = feed.records, feed.truth
    assert records.columns == list(rq.OPEN311_FIELDS)
    assert records.height == truth.height == COUNT
    assert truth.get_column(rq.SOURCE_POSITION).to_list() == list(range(COUNT))
    assert set(records.get_column(rq.STATUS).unique()) == {rq.Status.OPEN, rq.Status.CLOSED}
    assert truth.get_column(rq.LANGUAGE).is_in(["ru", "en"]).all()


def test_same_seed_same_frames_other_seed_differs(feed: DemoFeed) -> None:
    pack, records, truth = feed.pack, feed.records, feed.truth
    again_records, again_truth = generate_requests(pack, COUNT, seed=SEED)
    assert_frame_equal(again_records, records)
    assert_frame_equal(again_truth, truth)
    other_records, _ = generate_requests(pack, COUNT, seed=SEED + 1)
    assert not other_records.equals(records)
    same = other_records.get_column(rq.DESCRIPTION) == records.get_column(rq.DESCRIPTION)
    assert same.mean() < 0.05


def test_languages_and_categories(feed: DemoFeed) -> None:
    pack, truth, both = feed.pack, feed.truth, feed.both
    assert 0.31 <= (truth.get_column(rq.LANGUAGE) == "en").mean() <= 0.39
    categories = truth.get_column(rq.CATEGORY)
    assert categories.n_unique() >= 12
    assert categories.is_in(pack.taxonomy.get_column(TAXONOMY_CATEGORY).to_list()).all()
    text = both.filter(pl.col(true(rq.LANGUAGE)) == "ru").get_column(rq.DESCRIPTION)
    assert text.str.contains("[А-Яа-я]").mean() > 0.95
    text = both.filter(pl.col(true(rq.LANGUAGE)) == "en").get_column(rq.DESCRIPTION)
    assert text.str.contains(r"\b(the|is|at|on|near|for|please)\b").mean() > 0.9


def test_text_quality(feed: DemoFeed) -> None:
    records = feed.records
    text = records.get_column(rq.DESCRIPTION)
    garbage = text.str.strip_chars().str.len_chars() < 8
    assert 0.01 <= garbage.mean() <= 0.03
    assert (text == "").any() and text.str.contains(r"^\s+$").any()
    length = text.filter(~garbage).str.len_chars()
    assert 60 <= length.median() <= 200
    assert length.quantile(0.02) >= 40 and length.max() <= 260
    for fragment in ("ул.", "д.", "кв.", " St", " Ave", "корп."):
        assert text.str.contains(fragment, literal=True).any(), fragment
    assert records.get_column(rq.SERVICE_CODE).is_null().mean() > 0.7


def test_personal_data_spans_point_at_personal_data(feed: DemoFeed) -> None:
    both = feed.both
    spans = both.select(rq.DESCRIPTION, true(PII_SPANS)).explode(true(PII_SPANS))
    spans = spans.drop_nulls().unnest(true(PII_SPANS))
    assert set(spans.get_column(PII_TYPE).unique()) == set(PII_PATTERNS)
    found = spans.select(
        pl.col(PII_TYPE),
        pl.col(rq.DESCRIPTION).str.slice(pl.col(PII_START), pl.col(PII_END) - pl.col(PII_START)),
    )
    for kind, pattern in PII_PATTERNS.items():
        values = found.filter(pl.col(PII_TYPE) == kind).get_column(rq.DESCRIPTION)
        assert values.str.contains(pattern).all(), values.filter(~values.str.contains(pattern))
    phones = found.filter(pl.col(PII_TYPE) == PiiType.PHONE).get_column(rq.DESCRIPTION)
    for form in (
        r"^\+7 \d{3} \d{3}-\d{2}-\d{2}$",
        r"^8\(\d{3}\)\d{3}-\d{2}-\d{2}$",
        r"^\(\d{3}\) ",
    ):
        assert phones.str.contains(form).any(), form
    with_pii = both.get_column(true(PII_SPANS)).list.len() > 0
    assert 0.4 <= with_pii.mean() <= 0.8


def test_addresses_come_from_the_gazetteer(feed: DemoFeed) -> None:
    pack, both = feed.pack, feed.both
    gazetteer = pack.gazetteer.select(cp.STREET, cp.STREET_EN, cp.GAZ_LAT, cp.GAZ_LONG)
    at_house = both.filter(pl.col(true(rq.DUPLICATE_OF)).is_null()).join(
        gazetteer, left_on=[true(rq.LAT), true(rq.LONG)], right_on=[cp.GAZ_LAT, cp.GAZ_LONG]
    )
    assert 0.7 <= at_house.height / both.height <= 0.85
    assert at_house.get_column(rq.ADDRESS).is_not_null().all()
    text = pl.col(rq.DESCRIPTION).str.to_lowercase()
    named = at_house.select(
        text.str.contains(pl.col(cp.STREET).str.to_lowercase(), literal=True)
        | text.str.contains(pl.col(cp.STREET_EN).str.to_lowercase(), literal=True)
    ).to_series()
    assert 0.8 <= named.mean() <= 0.95


def test_coordinates_missing_noisy_and_invalid(feed: DemoFeed) -> None:
    pack, both = feed.pack, feed.both
    issue = both.get_column(true(rq.GEOCODE_ISSUE)).fill_null("")
    missing = both.get_column(rq.LAT).is_null()
    assert 0.12 <= missing.mean() <= 0.18
    assert (missing == (issue == rq.GeocodeIssue.MISSING)).all()
    assert both.filter(missing).get_column(rq.ADDRESS).is_not_null().all()
    invalid = issue.is_in([rq.GeocodeIssue.NULL_ISLAND, rq.GeocodeIssue.OUT_OF_RANGE,
                           rq.GeocodeIssue.OUTSIDE_CITY])  # fmt: skip
    assert 0.002 <= invalid.mean() <= 0.01
    island = both.filter(issue == rq.GeocodeIssue.NULL_ISLAND)
    assert island.height > 0 and (island[rq.LAT] == 0).all() and (island[rq.LONG] == 0).all()
    wild = both.filter(issue == rq.GeocodeIssue.OUT_OF_RANGE)
    assert wild.height > 0 and (wild[rq.LAT].abs() > 90).all()
    fine = both.filter(issue == "")
    city = shapely.union_all(pack.geometries)
    outside = both.filter(issue == rq.GeocodeIssue.OUTSIDE_CITY)
    assert not shapely.contains_xy(
        city, outside[rq.LONG].to_numpy(), outside[rq.LAT].to_numpy()
    ).any()
    north = (fine[rq.LAT] - fine[true(rq.LAT)]).to_numpy() * 111_200
    east = (fine[rq.LONG] - fine[true(rq.LONG)]).to_numpy() * 111_200 * np.cos(np.radians(55.75))
    error_m = np.hypot(north, east)
    assert 10 <= np.median(error_m) <= 45 and np.quantile(error_m, 0.99) < 150
    true_points = shapely.points(fine[true(rq.LONG)].to_numpy(), fine[true(rq.LAT)].to_numpy())
    where, district = shapely.STRtree(pack.geometries).query(true_points, predicate="within")
    located = np.asarray(pack.district_ids, dtype=object)[district]
    assert (located == fine[true(rq.DISTRICT_ID)].to_numpy()[where]).all()
    assert len(where) == fine.height


def test_pack_without_gazetteer_gets_gps_only_requests(tmp_path: Path) -> None:
    boxes = [
        ("A", shapely.box(-74.0, 40.7, -73.95, 40.75)),
        ("B", shapely.box(-73.95, 40.7, -73.9, 40.75)),
    ]
    source = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"n": n}, "geometry": shapely.geometry.mapping(g)}
            for n, g in boxes
        ],
    }
    tiny = CityPack.create("tiny", tmp_path / "tiny", source, name_field="n",
                           timezone="America/New_York")  # fmt: skip
    with pytest.raises(SyntheticDataError, match="taxonomy"):
        generate_requests(tiny, 100, seed=1)
    tiny = CityPack.create("tiny", tmp_path / "tiny", source, name_field="n",
                           taxonomy=list(DEMO_TAXONOMY)[:3], timezone="America/New_York")  # fmt: skip
    records, truth = generate_requests(tiny, 1_000, seed=1)
    assert records.get_column(rq.ADDRESS).is_null().all()
    assert truth.get_column(rq.CATEGORY).n_unique() == 3
    assert set(truth.get_column(rq.DISTRICT_ID).unique()) == {"A", "B"}
