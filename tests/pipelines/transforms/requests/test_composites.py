"""The enrichment composites as Beam runs them: `beam.Create([frame])` -> composite -> `assert_that`.

Each test checks the values of the columns its composite adds (the per-frame functions behind
them are tested on their own in `test_enrich.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import apache_beam as beam
import h3
import polars as pl
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from conftest import build_tiny_pack, frame_of
from polars.testing import assert_frame_equal

from models.cities.pack import CityPack
from models.classification.artifact import RequestTextModel
from models.classification.candidates import HASHED_LINEAR
from models.classification.training import train_classifier
from pipelines.transforms.requests.classify import ClassifyRequests
from pipelines.transforms.requests.geocode import GeocodeRequests
from pipelines.transforms.requests.normalise import NormaliseRequests
from pipelines.transforms.requests.sla import ComputeSla
from pipelines.transforms.requests.validate import validate_frame
from plumbing.workspace import Workspace
from schemas import requests as rq
from schemas.requests import GeocodeIssue, GeocodePrecision, QualityFlag
from schemas.taxonomy import TAXONOMY_CATEGORY, TAXONOMY_DEPARTMENT, TAXONOMY_SLA_DAYS
from synthetic.requests.generator import generate_requests

NOW = datetime(2026, 11, 1, tzinfo=UTC)
MODEL = "tiny-model"


def valid(rows: list[dict]) -> pl.DataFrame:
    frame, dead = validate_frame(frame_of(rows), NOW)
    assert dead.height == 0
    return frame


def run_composite(frame: pl.DataFrame, composite: beam.PTransform,
                  check: Callable[[pl.DataFrame], None]) -> None:
    """`frame` through `composite` on FnApiRunner; `check` gets every output row as one frame."""
    def matcher(frames: list[pl.DataFrame]) -> None:
        out = pl.concat(frames)
        assert out.height == frame.height  # enrichment adds columns, never drops a row
        check(out.sort(rq.SERVICE_REQUEST_ID))

    with TestPipeline(runner=FnApiRunner()) as pipeline:
        out = pipeline | "Frames" >> beam.Create([frame]) | composite
        assert_that(out, matcher)


def columns_equal(expected: pl.DataFrame) -> Callable[[pl.DataFrame], None]:
    """A check that the output, sorted by id, holds exactly `expected` in `expected`'s columns."""
    def check(out: pl.DataFrame) -> None:
        assert_frame_equal(out.select(expected.columns), expected.sort(rq.SERVICE_REQUEST_ID))
    return check


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Workspace:
    workspace = Workspace(tmp_path_factory.mktemp("composites-home"))
    build_tiny_pack(workspace.root)
    return workspace


@pytest.fixture(scope="module")
def pack(home: Workspace) -> CityPack:
    return CityPack.load(home.city("tiny"))


@pytest.fixture(scope="module")
def model_dir(home: Workspace, pack: CityPack) -> Path:
    """The tiny city's hashed-linear classifier, trained once on 1,500 generated requests."""
    records, truth = generate_requests(pack, 1_500, seed=3)
    history = records.select(rq.DESCRIPTION, rq.REQUESTED_DATETIME).with_columns(truth[rq.CATEGORY])
    train_classifier(home, history, rq.DESCRIPTION, rq.CATEGORY, MODEL, city="tiny",
                     time=rq.REQUESTED_DATETIME, candidates=[HASHED_LINEAR])
    return home.model(MODEL)


def test_normalise_requests_adds_status_local_date_stamp_and_flags() -> None:
    frame = valid([
        {rq.SERVICE_REQUEST_ID: "1", rq.REQUESTED_DATETIME: "2026-10-01T22:30:00Z", rq.STATUS: " RESOLVED ",
         rq.DESCRIPTION: "Яма   на дороге ", rq.CLOSED_DATETIME: "2026-10-01T20:00:00Z"},
        {rq.SERVICE_REQUEST_ID: "2", rq.REQUESTED_DATETIME: "2026-10-01T10:00:00Z", rq.STATUS: "In Progress",
         rq.DESCRIPTION: "  "},
    ])
    expected = pl.DataFrame({
        rq.SERVICE_REQUEST_ID: ["1", "2"],
        rq.STATUS: [rq.Status.CLOSED, rq.Status.OPEN],
        rq.DESCRIPTION: ["Яма на дороге", None],
        rq.REQUEST_DATE: [date(2026, 10, 2), date(2026, 10, 1)],  # 01:30 next day in Moscow
        rq.INGESTED_AT: [NOW, NOW],
        rq.SCHEMA_VERSION_COLUMN: [rq.SCHEMA_VERSION] * 2,
        rq.QUALITY_FLAGS: [[QualityFlag.CLOSED_BEFORE_REQUESTED], [QualityFlag.EMPTY_DESCRIPTION]],
    }, schema_overrides={rq.INGESTED_AT: pl.Datetime("us", "UTC")})
    run_composite(frame, NormaliseRequests("Europe/Moscow", NOW), columns_equal(expected))


def test_classify_requests_puts_the_trained_models_category_and_routes_it(
    pack: CityPack, model_dir: Path
) -> None:
    records, truth = generate_requests(pack, 300, seed=11)
    frame, _ = validate_frame(frame_of(records.with_columns(pl.all().cast(pl.String)).to_dicts()), NOW)
    categories = dict(zip(truth[rq.SOURCE_POSITION], truth[rq.CATEGORY], strict=True))
    languages = dict(zip(truth[rq.SOURCE_POSITION], truth[rq.LANGUAGE], strict=True))
    taxonomy = pack.taxonomy
    department = dict(zip(taxonomy[TAXONOMY_CATEGORY], taxonomy[TAXONOMY_DEPARTMENT], strict=True))
    sla_days = dict(zip(taxonomy[TAXONOMY_CATEGORY], taxonomy[TAXONOMY_SLA_DAYS], strict=True))
    version = RequestTextModel.load(model_dir).model_version

    def check(out: pl.DataFrame) -> None:
        true = out[rq.SOURCE_POSITION].replace_strict(categories, return_dtype=pl.String)
        assert (out[rq.CATEGORY] == true).fill_null(False).mean() > 0.9
        assert out[rq.MODEL_VERSION].unique().to_list() == [version]
        assert out[rq.CATEGORY_CONFIDENCE].is_between(0, 1).all()
        assert out.filter(pl.col(rq.CATEGORY_CONFIDENCE) < 0.5)[rq.NEEDS_REVIEW].all()
        decided = out.filter(pl.col(rq.CATEGORY).is_not_null())
        assert decided[rq.DEPARTMENT].to_list() == [department[c] for c in decided[rq.CATEGORY]]
        assert decided[rq.SLA_DAYS].to_list() == [sla_days[c] for c in decided[rq.CATEGORY]]
        said = out[rq.SOURCE_POSITION].replace_strict(languages, return_dtype=pl.String)
        assert (out[rq.LANGUAGE] == said).fill_null(False).mean() > 0.9  # no language for blank or garbage texts

    run_composite(frame, ClassifyRequests(pack.root, model_dir), check)


def test_classify_requests_without_a_model_keeps_the_source_category(pack: CityPack) -> None:
    frame = valid([
        {rq.SERVICE_REQUEST_ID: "1", rq.REQUESTED_DATETIME: "2026-10-01T10:00:00Z",
         rq.SERVICE_NAME: "Road Damage", rq.DESCRIPTION: "Pothole at the corner"},
        {rq.SERVICE_REQUEST_ID: "2", rq.REQUESTED_DATETIME: "2026-10-01T10:00:00Z",
         rq.SERVICE_NAME: "Street Lights", rq.AGENCY_RESPONSIBLE: "DOT", rq.DESCRIPTION: "Lamp out"},
    ])
    expected = pl.DataFrame({
        rq.SERVICE_REQUEST_ID: ["1", "2"],
        rq.CATEGORY: ["road_damage", "street_lights"],
        rq.MODEL_VERSION: ["source-category"] * 2,
        rq.DEPARTMENT: ["roads", "DOT"],  # an unlisted category stays with the source's agency
        rq.SLA_DAYS: [8.0, 8.0],
    })
    run_composite(frame, ClassifyRequests(pack.root), columns_equal(expected))


def test_geocode_requests_places_points_in_tiny_city_districts(pack: CityPack) -> None:
    points = {"n1": (55.15, 37.05), "n2": (55.15, 37.15), "s1": (55.05, 37.05),
              "island": (0.0, 0.0), "away": (56.0, 38.0), "missing": (None, None)}
    frame = valid([
        {rq.SERVICE_REQUEST_ID: rid, rq.REQUESTED_DATETIME: "2026-10-01T10:00:00Z",
         rq.LAT: None if lat is None else str(lat), rq.LONG: None if lon is None else str(lon)}
        for rid, (lat, lon) in points.items()
    ])
    cell = {rid: h3.latlng_to_cell(*points[rid], pack.h3_resolution) for rid in ("n1", "n2", "s1")}
    expected = pl.DataFrame({
        rq.SERVICE_REQUEST_ID: ["away", "island", "missing", "n1", "n2", "s1"],
        rq.DISTRICT_ID: [None, None, None, "N1", "N2", "S1"],
        rq.DISTRICT_NAME: [None, None, None, "North One", "North Two", "South One"],
        rq.PARENT_ID: [None, None, None, "N", "N", "S"],
        rq.PARENT_NAME: [None, None, None, "North", "North", "South"],
        rq.H3_CELL: [None, None, None, cell["n1"], cell["n2"], cell["s1"]],
        rq.GEOCODE_PRECISION: [GeocodePrecision.NONE] * 3 + [GeocodePrecision.POINT] * 3,
        rq.GEOCODE_ISSUE: [GeocodeIssue.OUTSIDE_CITY, GeocodeIssue.NULL_ISLAND, GeocodeIssue.MISSING,
                           None, None, None],
    })
    run_composite(frame, GeocodeRequests(pack.root), columns_equal(expected))


def test_compute_sla_due_time_is_requested_plus_sla_days() -> None:
    frame = valid([
        {rq.SERVICE_REQUEST_ID: "fast", rq.REQUESTED_DATETIME: "2026-10-01T00:00:00Z",
         rq.CLOSED_DATETIME: "2026-10-01T06:00:00Z"},
        {rq.SERVICE_REQUEST_ID: "late", rq.REQUESTED_DATETIME: "2026-10-01T00:00:00Z",
         rq.CLOSED_DATETIME: "2026-10-04T00:00:00Z"},
        {rq.SERVICE_REQUEST_ID: "odd", rq.REQUESTED_DATETIME: "2026-10-01T00:00:00Z",
         rq.CLOSED_DATETIME: "2026-09-30T00:00:00Z"},
        {rq.SERVICE_REQUEST_ID: "open", rq.REQUESTED_DATETIME: "2026-10-01T12:00:00Z"},
    ]).with_columns(pl.Series(rq.SLA_DAYS, [0.5, 2.0, 1.0, 8.0]))
    utc = pl.Datetime("us", "UTC")
    expected = pl.DataFrame({
        rq.SERVICE_REQUEST_ID: ["fast", "late", "odd", "open"],
        rq.SLA_DUE_DATETIME: [datetime(2026, 10, 1, 12, tzinfo=UTC), datetime(2026, 10, 3, tzinfo=UTC),
                              datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 10, 9, 12, tzinfo=UTC)],
        rq.HOURS_TO_CLOSE: [6.0, 72.0, None, None],  # a close before the request gets no outcome
        rq.CLOSED_WITHIN_SLA: [True, False, None, None],
    }, schema_overrides={rq.SLA_DUE_DATETIME: utc})
    run_composite(frame, ComputeSla(), columns_equal(expected))
