"""Synthetic requests: the shares, quirks and answer key the rest of the pipeline is graded on."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import shapely
from polars.testing import assert_frame_equal

from models.cities.pack import CityPack
from schemas import citypack as cp
from schemas import requests as rq
from schemas.dead_letters import REASON, Reason
from schemas.taxonomy import DEMO_TAXONOMY, TAXONOMY_CATEGORY
from synthetic.demo_city import build_demo_city
from synthetic.requests.generator import (
    DEFAULT_END,
    IS_RESEND,
    SyntheticDataError,
    generate_requests,
    truth_path,
    write_requests,
)
from synthetic.requests.personal_data import PII_END, PII_SPANS, PII_START, PII_TYPE, PiiType

COUNT = 20_000
SEED = 3
ISO_Z = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
PII_PATTERNS = {
    PiiType.PHONE: r"^(\+7 ?|8[ (-]?|\+1 |\()?[\d() -]{9,16}\d$",
    PiiType.EMAIL: r"^[a-z0-9._]+@[a-z]+\.[a-z]+$",
    PiiType.PERSON: r"^[A-ZА-ЯЁ][A-Za-zА-Яа-яЁё. ]+$",
    PiiType.FLAT: r"^(кв\.? ?|квартира |apt\.? |flat |Apt )\d+$",
}


def true(column: str) -> str:
    """Name of a truth column once joined beside the records (see the `both` fixture)."""
    return f"true_{column}"


def utc(column: str) -> pl.Expr:
    return pl.col(column).str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False, time_zone="UTC")


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> CityPack:
    return build_demo_city(tmp_path_factory.mktemp("cities") / "demo")


@pytest.fixture(scope="module")
def generated(pack: CityPack) -> tuple[pl.DataFrame, pl.DataFrame]:
    return generate_requests(pack, COUNT, seed=SEED)


@pytest.fixture(scope="module")
def records(generated: tuple[pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    return generated[0]


@pytest.fixture(scope="module")
def truth(generated: tuple[pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    return generated[1]


@pytest.fixture(scope="module")
def both(records: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Records with the truth alongside (truth columns prefixed with `true_`)."""
    return pl.concat([records, truth.rename(true)], how="horizontal")


def test_shape_and_vocabulary(records: pl.DataFrame, truth: pl.DataFrame) -> None:
    assert records.columns == list(rq.OPEN311_FIELDS)
    assert records.height == truth.height == COUNT
    assert truth.get_column(rq.SOURCE_POSITION).to_list() == list(range(COUNT))
    assert set(records.get_column(rq.STATUS).unique()) == {rq.Status.OPEN, rq.Status.CLOSED}
    assert truth.get_column(rq.LANGUAGE).is_in(["ru", "en"]).all()


def test_same_seed_same_frames_other_seed_differs(
    pack: CityPack, records: pl.DataFrame, truth: pl.DataFrame
) -> None:
    again_records, again_truth = generate_requests(pack, COUNT, seed=SEED)
    assert_frame_equal(again_records, records)
    assert_frame_equal(again_truth, truth)
    other_records, _ = generate_requests(pack, COUNT, seed=SEED + 1)
    assert not other_records.equals(records)
    same = other_records.get_column(rq.DESCRIPTION) == records.get_column(rq.DESCRIPTION)
    assert same.mean() < 0.05


def test_languages_and_categories(pack: CityPack, truth: pl.DataFrame, both: pl.DataFrame) -> None:
    assert 0.31 <= (truth.get_column(rq.LANGUAGE) == "en").mean() <= 0.39
    categories = truth.get_column(rq.CATEGORY)
    assert categories.n_unique() >= 12
    assert categories.is_in(pack.taxonomy.get_column(TAXONOMY_CATEGORY).to_list()).all()
    text = both.filter(pl.col(true(rq.LANGUAGE)) == "ru").get_column(rq.DESCRIPTION)
    assert text.str.contains("[А-Яа-я]").mean() > 0.95
    text = both.filter(pl.col(true(rq.LANGUAGE)) == "en").get_column(rq.DESCRIPTION)
    assert text.str.contains(r"\b(the|is|at|on|near|for|please)\b").mean() > 0.9


def test_text_quality(records: pl.DataFrame) -> None:
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


def test_personal_data_spans_point_at_personal_data(both: pl.DataFrame) -> None:
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


def test_addresses_come_from_the_gazetteer(pack: CityPack, both: pl.DataFrame) -> None:
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


def test_coordinates_missing_noisy_and_invalid(pack: CityPack, both: pl.DataFrame) -> None:
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


def test_timestamps_follow_the_city_rhythm(records: pl.DataFrame) -> None:
    times = records.select(
        utc(rq.REQUESTED_DATETIME).alias(rq.REQUESTED_DATETIME),
        utc(rq.UPDATED_DATETIME).alias(rq.UPDATED_DATETIME),
    ).drop_nulls()
    start = DEFAULT_END - timedelta(days=60)
    assert (
        times[rq.REQUESTED_DATETIME].min() >= start
        and times[rq.REQUESTED_DATETIME].max() < DEFAULT_END
    )
    assert (times[rq.UPDATED_DATETIME] >= times[rq.REQUESTED_DATETIME]).all()
    local = times[rq.REQUESTED_DATETIME].dt.convert_time_zone("Europe/Moscow")
    hours = local.dt.hour()
    night, morning, evening = (
        hours.is_in([2, 3, 4]),
        hours.is_in([9, 10, 11]),
        hours.is_in([18, 19, 20]),
    )
    assert morning.mean() > 3 * night.mean() and evening.mean() > 3 * night.mean()
    days = local.dt.date().value_counts()
    weekend = days.filter(pl.col(rq.REQUESTED_DATETIME).dt.weekday() >= 6)["count"].mean()
    weekday = days.filter(pl.col(rq.REQUESTED_DATETIME).dt.weekday() <= 5)["count"].mean()
    assert weekend < 0.85 * weekday
    for column in rq.TIMESTAMP_FIELDS[1:]:
        assert records[column].drop_nulls().str.contains(ISO_Z).all(), column


def test_closing_against_sla(records: pl.DataFrame) -> None:
    times = records.select(
        pl.col(rq.STATUS),
        utc(rq.REQUESTED_DATETIME).alias(rq.REQUESTED_DATETIME),
        utc(rq.CLOSED_DATETIME).alias(rq.CLOSED_DATETIME),
        utc(rq.EXPECTED_DATETIME).alias(rq.EXPECTED_DATETIME),
        utc(rq.UPDATED_DATETIME).alias(rq.UPDATED_DATETIME),
    )
    closed = times.get_column(rq.CLOSED_DATETIME).is_not_null()
    assert ((times.get_column(rq.STATUS) == rq.Status.CLOSED) == closed).all()
    assert 0.72 <= closed.mean() <= 0.88
    done = times.filter(
        pl.col(rq.CLOSED_DATETIME).is_not_null() & pl.col(rq.REQUESTED_DATETIME).is_not_null()
    )
    early = done.get_column(rq.CLOSED_DATETIME) < done.get_column(rq.REQUESTED_DATETIME)
    assert 0.001 <= early.mean() <= 0.01
    assert (done[rq.UPDATED_DATETIME] >= done[rq.CLOSED_DATETIME]).all()
    normal = done.filter(~early)
    within = normal[rq.CLOSED_DATETIME] <= normal[rq.EXPECTED_DATETIME]
    assert 0.7 <= within.mean() <= 0.88
    sla = normal[rq.EXPECTED_DATETIME] - normal[rq.REQUESTED_DATETIME]
    assert ((normal[rq.CLOSED_DATETIME] - normal[rq.REQUESTED_DATETIME]) > 3 * sla).mean() > 0.01
    assert set(sla.dt.total_days().unique()) == {1, 2, 3, 5, 8}


def test_resends_are_later_versions(both: pl.DataFrame) -> None:
    resends = both.filter(pl.col(true(IS_RESEND)))
    assert 0.025 <= resends.height / both.height <= 0.035
    firsts = both.filter(~pl.col(true(IS_RESEND)))
    pairs = resends.join(firsts, on=rq.SERVICE_REQUEST_ID, suffix="_first")
    assert pairs.height == resends.height
    assert (pairs[true(rq.SOURCE_POSITION)] > pairs[true(rq.SOURCE_POSITION) + "_first"]).all()
    assert (pairs[rq.DESCRIPTION] == pairs[f"{rq.DESCRIPTION}_first"]).all()
    assert (pairs[rq.REQUESTED_DATETIME] == pairs[f"{rq.REQUESTED_DATETIME}_first"]).all()
    assert (pairs[rq.UPDATED_DATETIME] > pairs[f"{rq.UPDATED_DATETIME}_first"]).all()
    assert (pairs[rq.STATUS] == rq.Status.CLOSED).mean() > 0.5
    assert firsts.get_column(rq.SERVICE_REQUEST_ID).drop_nulls().is_unique().all()


def test_neighbours_report_the_same_problem(both: pl.DataFrame) -> None:
    firsts = both.filter(~pl.col(true(IS_RESEND)))
    repeats = firsts.filter(pl.col(true(rq.DUPLICATE_OF)).is_not_null())
    assert 0.015 <= repeats.height / both.height <= 0.025
    pairs = repeats.join(
        firsts, left_on=true(rq.DUPLICATE_OF), right_on=true(rq.SERVICE_REQUEST_ID), suffix="_o"
    )
    assert pairs.height == repeats.height
    assert (pairs[true(rq.SERVICE_REQUEST_ID)] != pairs[true(rq.DUPLICATE_OF)]).all()
    assert (pairs[true(rq.CATEGORY)] == pairs[true(rq.CATEGORY) + "_o"]).all()
    north = (pairs[true(rq.LAT)] - pairs[true(rq.LAT) + "_o"]).to_numpy() * 111_200
    east = (pairs[true(rq.LONG)] - pairs[true(rq.LONG) + "_o"]).to_numpy() * 62_600
    assert np.hypot(north, east).max() <= 50
    gap = pairs.select(utc(rq.REQUESTED_DATETIME) - utc(f"{rq.REQUESTED_DATETIME}_o")).to_series()
    assert gap.drop_nulls().dt.total_minutes().is_between(0, 6 * 60).all()


def test_dead_letter_rows(both: pl.DataFrame) -> None:
    reason = both.get_column(true(REASON)).fill_null("")
    assert 0.001 <= (reason != "").mean() <= 0.004
    no_id = both.get_column(rq.SERVICE_REQUEST_ID).is_null()
    assert (no_id == (reason == Reason.MISSING_ID)).all() and no_id.any()
    unparseable = both.select(utc(rq.REQUESTED_DATETIME).is_null()).to_series()
    assert (unparseable == (reason == Reason.BAD_TIMESTAMP)).all() and unparseable.any()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "open311-json"])
def test_every_format_round_trips(
    fmt: str, records: pl.DataFrame, truth: pl.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / f"requests.{fmt.replace('open311-', '')}"
    write_requests(records, path, fmt, truth=truth)
    if fmt == "csv":
        back = pl.read_csv(path, schema=records.schema)
    elif fmt == "jsonl":
        back = pl.read_ndjson(path, schema=records.schema)
    elif fmt == "parquet":
        back = pl.read_parquet(path)
    else:
        body = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(body, list) and list(body[0]) == list(rq.OPEN311_FIELDS)
        assert all(isinstance(r[rq.LAT], float | None) for r in body)
        back = pl.DataFrame(body, schema=records.schema)
    assert back.height == records.height
    assert_frame_equal(back, records)
    assert_frame_equal(pl.read_parquet(truth_path(path)), truth)


def test_window_arguments_and_errors(pack: CityPack, tmp_path: Path) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    records, _ = generate_requests(pack, 500, seed=1, start=start, days=7)
    requested = records.select(utc(rq.REQUESTED_DATETIME)).to_series().drop_nulls()
    assert requested.min() >= start and requested.max() < start + timedelta(days=7)
    with pytest.raises(SyntheticDataError, match="format"):
        write_requests(records, tmp_path / "x.xml", "xml")
    with pytest.raises(SyntheticDataError, match="positive"):
        generate_requests(pack, 0, seed=1)
    assert re.fullmatch(r"requests\.truth\.parquet", truth_path(Path("a/requests.csv")).name)


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
