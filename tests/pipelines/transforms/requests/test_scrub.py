"""ScrubPersonalData: texts of request frames lose their personal data, addresses their flat
numbers (names in street names stay), nothing else changes."""

from __future__ import annotations

import apache_beam as beam
import polars as pl
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from polars.testing import assert_frame_equal

from pipelines.transforms.requests.scrub import (
    ScrubPersonalData,
    scrub_frame,
    scrub_frame_counted,
)
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
            rq.ADDRESS: ["ул. Павлова, 11, кв. 3", "Adam Clayton Powell Jr Blvd 2150, Apt 4B", None],
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
        rq.ADDRESS: ["ул. Павлова, 11", "Adam Clayton Powell Jr Blvd 2150", None],
    }
)


def test_scrub_frame_replaces_personal_data_in_texts_and_flats_in_addresses() -> None:
    assert_frame_equal(scrub_frame(requests_frame()), EXPECTED)


def test_scrub_frame_without_status_notes_or_address() -> None:
    frame = requests_frame().drop(rq.STATUS_NOTES)
    assert_frame_equal(scrub_frame(frame), EXPECTED.drop(rq.STATUS_NOTES))
    frame = requests_frame().drop(rq.ADDRESS)
    assert_frame_equal(scrub_frame(frame), EXPECTED.drop(rq.ADDRESS))


def test_scrub_counts_address_flats_with_the_other_spans() -> None:
    _, replaced = scrub_frame_counted(requests_frame())
    assert replaced == 9  # 5 spans in descriptions, 2 in status notes, 2 flats in addresses


def test_ptransform_scrubs_every_frame() -> None:
    frames = [requests_frame().head(2), requests_frame().tail(1)]
    columns = (rq.DESCRIPTION, rq.ADDRESS)
    with TestPipeline() as pipeline:
        texts = (
            pipeline
            | beam.Create(frames)
            | ScrubPersonalData()
            | beam.FlatMap(lambda frame: frame.select(columns).rows())
        )
        assert_that(texts, equal_to(EXPECTED.select(columns).rows()))
