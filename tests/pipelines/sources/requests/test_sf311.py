"""DataSF 311 export, read from the real 10,000-row sample."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from raw_reading import read_raw, sample_file

from schemas.requests import (
    ADDRESS,
    AGENCY_RESPONSIBLE,
    CLOSED_DATETIME,
    DESCRIPTION,
    EXPECTED_DATETIME,
    LAT,
    LONG,
    OPEN311_FIELDS,
    REQUESTED_DATETIME,
    SERVICE_CODE,
    SERVICE_NAME,
    SERVICE_REQUEST_ID,
    SOURCE,
    STATUS,
    STATUS_NOTES,
    UPDATED_DATETIME,
)

ISO_UTC = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


@pytest.fixture(scope="module")
def sample() -> Path:
    return sample_file("requests", "sf311_service_requests_sample_10k.csv")


@pytest.fixture(scope="module")
def export(sample: Path) -> pl.DataFrame:
    return pl.read_csv(sample, infer_schema=False)


@pytest.fixture
def raw(sample: Path) -> pl.DataFrame:
    return read_raw(sample, "sf311", batch_rows=4_000)


def test_one_row_per_record_in_file_order(raw: pl.DataFrame, export: pl.DataFrame) -> None:
    assert raw.height == export.height == 10_000
    assert raw[SERVICE_REQUEST_ID].to_list() == export["unique_key"].to_list()
    # DataSF's own `source` column is the intake channel; ours names the export
    assert raw[SOURCE].unique().to_list() == ["sf311"]


def test_first_rows_known_values(raw: pl.DataFrame) -> None:
    expected = pl.DataFrame(
        {
            SERVICE_REQUEST_ID: ["6078653", "5375853"],
            STATUS: ["Closed", "Open"],
            SERVICE_CODE: ["Odor", "Odor"],
            SERVICE_NAME: ["Sewer Issues", "Sewer Issues"],
            DESCRIPTION: ["Odor: Odor From_catch_basin", "Odor: Odor From_other_location"],
            AGENCY_RESPONSIBLE: ["PUC Sewer Ops", "PUC Sewer Ops"],
            REQUESTED_DATETIME: ["2016-07-13T15:11:07Z", "2015-12-15T06:32:10Z"],
            UPDATED_DATETIME: ["2016-07-14T12:13:22Z", "2015-12-15T06:35:17Z"],
            EXPECTED_DATETIME: [None, None],
            CLOSED_DATETIME: ["2016-07-14T12:13:22Z", None],
            ADDRESS: ["Not associated with a specific address"] * 2,
            LAT: ["0.0", "0.0"],
            LONG: ["0.0", "0.0"],
        },
        schema_overrides={EXPECTED_DATETIME: pl.String},
    )
    picked = raw.filter(pl.col(SERVICE_REQUEST_ID).is_in(["6078653", "5375853"]))
    assert_frame_equal(picked.select(OPEN311_FIELDS).drop(STATUS_NOTES), expected)
    assert picked[STATUS_NOTES][0] == "Field Work has been completed."



def test_null_island_is_passed_through(raw: pl.DataFrame, export: pl.DataFrame) -> None:
    island = (export["latitude"] == "0.0") & (export["longitude"] == "0.0")
    assert island.sum() == 4_264
    ours = (raw[LAT] == "0.0") & (raw[LONG] == "0.0")
    assert ours.to_list() == island.to_list()


def test_description_without_descriptor_is_the_complaint_type(raw: pl.DataFrame) -> None:
    row = raw.filter(pl.col(SERVICE_REQUEST_ID) == "432371")
    assert row[DESCRIPTION].to_list() == ["Other"]


def test_offsets_are_honoured_and_all_timestamps_convert(
    raw: pl.DataFrame, export: pl.DataFrame
) -> None:
    assert raw[CLOSED_DATETIME].null_count() == export["closed_date"].null_count() == 370
    for field in (REQUESTED_DATETIME, UPDATED_DATETIME, CLOSED_DATETIME):
        assert raw[field].drop_nulls().str.contains(ISO_UTC).all(), field
    # "+00:00" in the file: the Los Angeles default for naive values must not shift them
    assert (
        raw[REQUESTED_DATETIME].to_list()
        == export["created_date"].str.replace(r"^(\S+) (\S+)\+00:00$", "${1}T${2}Z").to_list()
    )
