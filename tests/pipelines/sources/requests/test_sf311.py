"""DataSF 311 export: its own quirks, on the real 10,000-row sample.

What every city export promises (row order, known rows, timestamps, pickling) is checked for
NYC and SF alike in `test_city_exports.py`.
"""

from __future__ import annotations

import polars as pl
import pytest
from raw_reading import CITY_EXPORTS

from schemas.requests import (
    CLOSED_DATETIME,
    DESCRIPTION,
    LAT,
    LONG,
    REQUESTED_DATETIME,
    SERVICE_REQUEST_ID,
    STATUS_NOTES,
)

SF = CITY_EXPORTS["sf311"]


@pytest.fixture(scope="module")
def export() -> pl.DataFrame:
    return SF.export()


@pytest.fixture(scope="module")
def raw() -> pl.DataFrame:
    return SF.raw()


def test_resolution_stays_in_status_notes(raw: pl.DataFrame) -> None:
    """Staff's account of the outcome never leaks into the description text models read."""
    row = raw.filter(pl.col(SERVICE_REQUEST_ID) == "6078653")
    assert row[STATUS_NOTES].to_list() == ["Field Work has been completed."]
    assert row[DESCRIPTION].to_list() == ["Odor: Odor From_catch_basin"]


def test_null_island_is_passed_through(raw: pl.DataFrame, export: pl.DataFrame) -> None:
    island = (export["latitude"] == "0.0") & (export["longitude"] == "0.0")
    assert island.sum() == 4_264
    ours = (raw[LAT] == "0.0") & (raw[LONG] == "0.0")
    assert ours.to_list() == island.to_list()


def test_description_without_descriptor_is_the_complaint_type(raw: pl.DataFrame) -> None:
    row = raw.filter(pl.col(SERVICE_REQUEST_ID) == "432371")
    assert row[DESCRIPTION].to_list() == ["Other"]


def test_offsets_are_honoured(raw: pl.DataFrame, export: pl.DataFrame) -> None:
    assert raw[CLOSED_DATETIME].null_count() == export["closed_date"].null_count() == 370
    # "+00:00" in the file: the Los Angeles default for naive values must not shift them
    assert (
        raw[REQUESTED_DATETIME].to_list()
        == export["created_date"].str.replace(r"^(\S+) (\S+)\+00:00$", "${1}T${2}Z").to_list()
    )
