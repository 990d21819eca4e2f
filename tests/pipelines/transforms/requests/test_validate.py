from __future__ import annotations

from datetime import UTC, date, datetime

import apache_beam as beam
import polars as pl
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from conftest import frame_of, raw_batch

from pipelines.sources.requests import SourceMapping, timestamp_formats_tried
from pipelines.transforms.requests.normalise import normalise_frame
from pipelines.transforms.requests.validate import DEAD, ValidateRequests, validate_frame
from schemas import dead_letters as dl
from schemas import requests as rq

NOW = datetime(2026, 11, 1, tzinfo=UTC)
GOOD = {rq.SERVICE_REQUEST_ID: "1", rq.REQUESTED_DATETIME: "2026-10-01T10:00:00Z", rq.LAT: "55.15", rq.LONG: "37.05"}


def test_reasons_are_machine_readable_and_payload_is_kept():
    rows = [
        GOOD,
        {rq.SERVICE_REQUEST_ID: " ", rq.REQUESTED_DATETIME: "2026-10-01T10:00:00Z"},
        {rq.SERVICE_REQUEST_ID: "3"},
        {rq.SERVICE_REQUEST_ID: "4", rq.REQUESTED_DATETIME: "yesterday"},
        {rq.UNREADABLE_RECORD: "{broken json"},
    ]
    valid, dead = validate_frame(frame_of(rows), NOW)
    assert valid[rq.SERVICE_REQUEST_ID].to_list() == ["1"]
    assert dead[dl.REASON].to_list() == [
        dl.Reason.MISSING_ID, dl.Reason.MISSING_REQUESTED, dl.Reason.BAD_TIMESTAMP, dl.Reason.UNREADABLE_ROW,
    ]
    assert dead[rq.SOURCE_POSITION].to_list() == [1, 2, 3, 4]
    assert '"requested_datetime":"yesterday"' in dead[dl.RAW_PAYLOAD][2]
    assert "{broken json" in dead[dl.RAW_PAYLOAD][3]


@pytest.mark.parametrize(("fmt", "mapping", "mapping_file", "expected"), [
    ("csv", SourceMapping(timestamp_formats=("%d.%m.%Y", "%Y")), "m.toml",
     ('requested_datetime "yesterday" does not match any of the mapping\'s timestamp formats '
     '"%d.%m.%Y", "%Y" (mapping file m.toml)')),
    ("nyc311", None, None,
     ('requested_datetime "yesterday" does not match any of the timestamp formats of format nyc311 '
     '("%m/%d/%Y %I:%M:%S %p"); a mapping with a [timestamps] format reads other forms')),
    ("nyc311", SourceMapping(timezone="UTC"), "m.toml",
     ('requested_datetime "yesterday" does not match any of the timestamp formats of format nyc311 '
     '("%m/%d/%Y %I:%M:%S %p"); mapping file m.toml sets no [timestamps] format')),
])
def test_an_unreadable_requested_time_names_the_formats_tried(fmt, mapping, mapping_file, expected):
    row = {rq.SERVICE_REQUEST_ID: "4", rq.REQUESTED_DATETIME: "yesterday"}
    _, dead = validate_frame(frame_of([row]), NOW, timestamp_formats_tried(fmt, mapping, mapping_file))
    assert dead[dl.DETAIL].to_list() == [expected]


def test_fixable_quirks_become_nulls_with_flags():
    row = dict(GOOD, **{rq.CLOSED_DATETIME: "not a time", rq.LAT: "north"})
    valid, dead = validate_frame(frame_of([row]), NOW)
    assert dead.height == 0
    assert valid[rq.CLOSED_DATETIME][0] is None and valid[rq.LAT][0] is None
    assert sorted(valid[rq.QUALITY_FLAGS][0]) == ["unparseable_closed_datetime", "unparseable_lat"]


def test_offsets_are_converted_to_utc():
    row = dict(GOOD, **{rq.REQUESTED_DATETIME: "2012-05-22T23:57:23.97-07:00"})
    valid, _ = validate_frame(frame_of([row]), NOW)
    assert valid[rq.REQUESTED_DATETIME][0] == datetime(2012, 5, 23, 6, 57, 23, 970000, tzinfo=UTC)


def test_validate_composite_splits_outputs():
    batch = raw_batch([GOOD, {rq.SERVICE_REQUEST_ID: "2", rq.REQUESTED_DATETIME: "31/02/2026 25:61"}])

    def ids(expected):
        def check(frames):
            assert sorted(pl.concat(frames)[rq.SERVICE_REQUEST_ID].to_list()) == expected
        return check

    def reasons(expected):
        def check(frames):
            assert pl.concat(frames)[dl.REASON].to_list() == expected
        return check

    with TestPipeline(runner=FnApiRunner()) as p:
        out = p | beam.Create([batch]) | ValidateRequests()
        assert_that(out.valid, ids(["1"]), label="ValidIds")
        assert_that(out[DEAD], reasons([dl.Reason.BAD_TIMESTAMP]), label="DeadReasons")


@pytest.mark.parametrize(
    "requested",
    [
        "9999-12-31T23:30:00-05:00",  # 10000-01-01 in UTC
        "9999-12-31T12:00:00Z",  # fine in UTC, 10000-01-01 at UTC+14
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC
        "0001-01-01T08:00:00Z",  # year 0 at UTC-12
    ],
)
def test_requested_outside_years_1_to_9999_is_a_dead_letter(requested: str) -> None:
    """Regression (parsing probe): such a record aborted the whole run in NormaliseRequests."""
    valid, dead = validate_frame(frame_of([GOOD, dict(GOOD, **{rq.REQUESTED_DATETIME: requested})]), NOW)
    assert valid[rq.SERVICE_REQUEST_ID].to_list() == ["1"]
    assert dead[dl.REASON].to_list() == [dl.Reason.REQUESTED_OUT_OF_RANGE]
    assert dead[dl.DETAIL][0] == f"requested_datetime {requested} is outside the years 1-9999 (in UTC or in local time)"


@pytest.mark.parametrize("requested", ["0000-06-01T00:00:00Z", "10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z"])
def test_year_0_and_10000_forms_are_dead_letters(requested: str) -> None:
    valid, dead = validate_frame(frame_of([dict(GOOD, **{rq.REQUESTED_DATETIME: requested})]), NOW)
    assert valid.height == 0
    assert dead[dl.REASON].to_list()[0] in {dl.Reason.REQUESTED_OUT_OF_RANGE, dl.Reason.BAD_TIMESTAMP}


def test_other_times_outside_the_years_become_nulls_with_a_flag() -> None:
    row = dict(GOOD, **{rq.CLOSED_DATETIME: "9999-12-31T23:59:59Z", rq.UPDATED_DATETIME: "0001-01-01T00:00:00Z"})
    valid, dead = validate_frame(frame_of([row]), NOW)
    assert dead.height == 0
    assert valid[rq.CLOSED_DATETIME][0] is None and valid[rq.UPDATED_DATETIME][0] is None
    assert sorted(valid[rq.QUALITY_FLAGS][0]) == ["out_of_range_closed_datetime", "out_of_range_updated_datetime"]
    normalised = normalise_frame(valid, "Pacific/Kiritimati", NOW)  # UTC+14: no year 10000 dates
    assert normalised[rq.REQUEST_DATE].to_list() == [date(2026, 10, 2)]


def test_rows_decoded_by_guess_are_flagged() -> None:
    valid, _ = validate_frame(frame_of([GOOD, dict(GOOD, **{rq.GUESSED_ENCODING: "cp1251"})]), NOW)
    assert valid[rq.QUALITY_FLAGS].to_list() == [[], [rq.QualityFlag.DECODED_BY_GUESS]]


def test_landing_segments_from_before_the_encoding_column_still_validate() -> None:
    valid, dead = validate_frame(frame_of([GOOD]).drop(rq.GUESSED_ENCODING), NOW)
    assert valid.height == 1 and dead.height == 0
