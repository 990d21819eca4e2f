"""ScrubPersonalData: texts of request frames lose their personal data, nothing else changes."""

from __future__ import annotations

import apache_beam as beam
import polars as pl
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from polars.testing import assert_frame_equal

from pipelines.transforms.requests.scrub import ScrubPersonalData, scrub_frame
from schemas import requests as rq


def requests_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            rq.SERVICE_REQUEST_ID: ["UP000000001", "UP000000002", "UP000000003"],
            rq.DESCRIPTION: [
                "Течёт в кв. 12, Иванов И.И., тел. +7 916 123-45-67",
                "Pothole on Broadway, call John Smith at (212) 555-0142",
                None,
            ],
            rq.STATUS_NOTES: [None, "Emailed j.smith@example.com", "Closed per Mrs. Jones"],
            rq.ADDRESS: ["ул. Павлова, 11", "Broadway 5", None],
        }
    )


EXPECTED = pl.DataFrame(
    {
        rq.SERVICE_REQUEST_ID: ["UP000000001", "UP000000002", "UP000000003"],
        rq.DESCRIPTION: [
            "Течёт в [FLAT], [PERSON], тел. [PHONE]",
            "Pothole on Broadway, call [PERSON] at [PHONE]",
            None,
        ],
        rq.STATUS_NOTES: [None, "Emailed [EMAIL]", "Closed per Mrs. [PERSON]"],
        rq.ADDRESS: ["ул. Павлова, 11", "Broadway 5", None],
    }
)


def test_scrub_frame_replaces_personal_data_in_texts_only() -> None:
    assert_frame_equal(scrub_frame(requests_frame()), EXPECTED)


def test_scrub_frame_without_status_notes() -> None:
    frame = requests_frame().drop(rq.STATUS_NOTES)
    assert_frame_equal(scrub_frame(frame), EXPECTED.drop(rq.STATUS_NOTES))


def test_ptransform_scrubs_every_frame() -> None:
    frames = [requests_frame().head(2), requests_frame().tail(1)]
    with TestPipeline() as pipeline:
        texts = (
            pipeline
            | beam.Create(frames)
            | ScrubPersonalData()
            | beam.FlatMap(lambda frame: frame.get_column(rq.DESCRIPTION).to_list())
        )
        assert_that(texts, equal_to(EXPECTED.get_column(rq.DESCRIPTION).to_list()))
