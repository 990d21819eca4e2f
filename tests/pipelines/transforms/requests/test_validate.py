from __future__ import annotations

from datetime import UTC, datetime

import apache_beam as beam
import polars as pl
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from conftest import frame_of, raw_batch

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
