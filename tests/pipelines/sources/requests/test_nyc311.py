"""NYC Open Data 311 export: its own quirks, on the real 4,999-row sample.

What every city export promises (row order, known rows, timestamps, pickling) is checked for
NYC and SF alike in `test_city_exports.py`.
"""

from __future__ import annotations

import polars as pl
import pytest
from raw_reading import CITY_EXPORTS

from schemas.requests import (
    ADDRESS,
    CLOSED_DATETIME,
    EXPECTED_DATETIME,
    REQUESTED_DATETIME,
    SERVICE_REQUEST_ID,
    STATUS_NOTES,
)

US_FORMAT = "%m/%d/%Y %I:%M:%S %p"
NYC = CITY_EXPORTS["nyc311"]


@pytest.fixture(scope="module")
def export() -> pl.DataFrame:
    return NYC.export()


@pytest.fixture(scope="module")
def raw() -> pl.DataFrame:
    return NYC.raw()


def test_city_reply_goes_to_status_notes_as_exported(raw: pl.DataFrame) -> None:
    # mojibake included (UTF-8 read as Windows-1252): normalise repairs it, the source does not
    assert raw[STATUS_NOTES][0].startswith("Service Request status for this request is available")
    assert "\u00e2\u0080\u0099" in raw[STATUS_NOTES][0]


def test_daylight_saving_time_follows_new_york(raw: pl.DataFrame) -> None:
    # Due Date 07/25/2023 02:22:23 AM is EDT (UTC-4), not EST
    due = raw.filter(pl.col(SERVICE_REQUEST_ID) == "56917829")[EXPECTED_DATETIME]
    assert due.to_list() == ["2023-07-25T06:22:23Z"]


def test_closed_before_created_rows_are_kept(raw: pl.DataFrame, export: pl.DataFrame) -> None:
    parsed = export.select(
        pl.col("Unique Key"),
        created=pl.col("Created Date").str.strptime(pl.Datetime, US_FORMAT),
        closed=pl.col("Closed Date").str.strptime(pl.Datetime, US_FORMAT),
    )
    early = parsed.filter(pl.col("closed") < pl.col("created"))["Unique Key"].sort()
    assert early.len() == 2
    ours = raw.filter(pl.col(CLOSED_DATETIME) < pl.col(REQUESTED_DATETIME))[SERVICE_REQUEST_ID]
    assert ours.sort().to_list() == early.to_list()


def test_address_falls_back_to_intersection(raw: pl.DataFrame, export: pl.DataFrame) -> None:
    no_address = export["Incident Address"].is_null()
    no_intersection = (
        export["Intersection Street 1"].is_null() & export["Intersection Street 2"].is_null()
    )
    assert raw[ADDRESS].null_count() == (no_address & no_intersection).sum() == 25
    assert raw.filter(no_address & ~no_intersection)[ADDRESS].str.contains(" & ").all()
