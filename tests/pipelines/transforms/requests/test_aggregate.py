from __future__ import annotations

from datetime import UTC, date, datetime

import apache_beam as beam
import polars as pl
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from polars.testing import assert_frame_equal

from pipelines.transforms.requests.aggregate import AggregateDaily
from schemas import aggregates as ag
from schemas import requests as rq


def request(rid, day, closed=None, hours=None, within=None, district="N1", category="noise"):
    return {
        rq.SERVICE_REQUEST_ID: rid, rq.REQUEST_DATE: day, rq.DISTRICT_ID: district,
        rq.DISTRICT_NAME: district.lower(), rq.PARENT_NAME: "North", rq.CATEGORY: category,
        rq.CLOSED_DATETIME: closed, rq.HOURS_TO_CLOSE: hours, rq.CLOSED_WITHIN_SLA: within,
    }


def test_daily_new_closed_backlog_and_sla_share():
    utc = UTC
    batch_one = pl.DataFrame([
        request("1", date(2026, 10, 1), datetime(2026, 10, 2, 9, tzinfo=utc), 30.0, True),
        request("2", date(2026, 10, 1)),
    ])
    batch_two = pl.DataFrame([
        request("3", date(2026, 10, 2), datetime(2026, 10, 2, 12, tzinfo=utc), 2.0, False),
        # closed before it was requested: counted as closed on its request day, no SLA outcome
        request("4", date(2026, 10, 2), datetime(2026, 9, 1, tzinfo=utc), None, None),
        request("5", date(2026, 10, 2), district="S1"),
    ])
    expected = pl.DataFrame({
        ag.DAY: [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 2)],
        rq.DISTRICT_ID: ["N1", "N1", "S1"],
        ag.NEW: [2, 2, 1], ag.CLOSED: [0, 3, 0], ag.BACKLOG: [2, 1, 1],
        ag.MEDIAN_HOURS_TO_CLOSE: [None, 16.0, None],
        ag.CLOSED_WITH_SLA_OUTCOME: [0, 2, 0],
        ag.SHARE_CLOSED_WITHIN_SLA: [None, 0.5, None],
    })

    def check(frames):
        got = pl.concat(frames).sort([ag.DAY, rq.DISTRICT_ID]).select(expected.columns)
        assert_frame_equal(got, expected, check_dtypes=False)

    with TestPipeline(runner=FnApiRunner()) as p:
        daily = p | beam.Create([batch_one, batch_two]) | AggregateDaily("Europe/Moscow")
        assert_that(daily, check)
