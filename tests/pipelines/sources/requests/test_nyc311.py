"""NYC Open Data 311 export, read from the real 4,999-row sample."""

from __future__ import annotations

import pickle
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from raw_reading import read_raw, sample_file

from pipelines.sources.requests import read_raw_batches
from pipelines.sources.requests.nyc311 import NYC311
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
    TIMESTAMP_FIELDS,
    UNREADABLE_RECORD,
    UPDATED_DATETIME,
)

ISO_UTC = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
US_FORMAT = "%m/%d/%Y %I:%M:%S %p"


@pytest.fixture(scope="module")
def sample() -> Path:
    return sample_file("requests", "nyc311_2023-02-28_sample_5k.csv")


@pytest.fixture(scope="module")
def export(sample: Path) -> pl.DataFrame:
    """The export as NYC wrote it, read independently of the adapter."""
    return pl.read_csv(sample, infer_schema=False)


@pytest.fixture
def raw(sample: Path) -> pl.DataFrame:
    return read_raw(sample, "nyc311", batch_rows=1_000)


def test_one_row_per_record_in_file_order(raw: pl.DataFrame, export: pl.DataFrame) -> None:
    assert raw.height == export.height == 4_999
    assert raw[SERVICE_REQUEST_ID].to_list() == export["Unique Key"].to_list()
    assert raw[SOURCE].unique().to_list() == ["nyc311"]
    assert raw[UNREADABLE_RECORD].null_count() == raw.height


def test_first_rows_known_values(raw: pl.DataFrame) -> None:
    expected = pl.DataFrame(
        {
            SERVICE_REQUEST_ID: ["56923577", "56921224", "56926734", "56924812"],
            STATUS: ["Closed"] * 4,
            SERVICE_CODE: [
                "Traffic Signal Condition",
                "Illegal Parking",
                "Street Condition",
                "Noise - Vehicle",
            ],
            SERVICE_NAME: [
                "Traffic Signal Condition",
                "Illegal Parking",
                "Street Condition",
                "Noise - Vehicle",
            ],
            DESCRIPTION: [
                "Traffic Signal Condition: Controller",
                "Illegal Parking: Blocked Hydrant",
                "Street Condition: Pothole",
                "Noise - Vehicle: Car/Truck Music",
            ],
            AGENCY_RESPONSIBLE: ["DOT", "NYPD", "DOT", "NYPD"],
            # 11:45:00 PM EST on Feb 28 is 04:45 UTC on Mar 1
            REQUESTED_DATETIME: [
                "2023-03-01T04:45:00Z",
                "2023-03-01T04:44:59Z",
                "2023-03-01T04:44:53Z",
                "2023-03-01T04:44:32Z",
            ],
            UPDATED_DATETIME: [
                "2023-03-01T06:00:00Z",
                "2023-03-01T06:04:17Z",
                "2023-03-02T03:50:00Z",
                "2023-03-01T05:10:45Z",
            ],
            EXPECTED_DATETIME: [None] * 4,
            # row 0 closed on Jan 1, before it was created: kept, validation flags it;
            # row 3 "12:10:41 AM" is ten past midnight
            CLOSED_DATETIME: [
                "2023-01-01T06:00:00Z",
                "2023-02-01T06:04:12Z",
                "2023-03-02T03:50:00Z",
                "2023-03-01T05:10:41Z",
            ],
            # row 0 has no Incident Address: the intersection stands in
            ADDRESS: [
                "11 AVENUE & WEST 22 STREET",
                "659 CAULDWELL AVENUE",
                "FT WASHINGTON AVENUE",
                "290 EXETER STREET",
            ],
            LAT: ["40.74821053178345", "40.81672781810395", None, "40.57553594799442"],
            LONG: ["-74.00748519439084", "-73.90959744911358", None, "-73.94789748163153"],
        },
        schema_overrides={EXPECTED_DATETIME: pl.String},
    )
    assert_frame_equal(raw.head(4).select(OPEN311_FIELDS).drop(STATUS_NOTES), expected)
    # the city's reply goes to status_notes, as exported (mojibake included; normalise repairs it)
    assert raw[STATUS_NOTES][0].startswith("Service Request status for this request is available")
    assert "\u00e2\u0080\u0099" in raw[STATUS_NOTES][0]


def test_every_timestamp_converted(raw: pl.DataFrame, export: pl.DataFrame) -> None:
    for field, column in [
        (REQUESTED_DATETIME, "Created Date"),
        (CLOSED_DATETIME, "Closed Date"),
        (UPDATED_DATETIME, "Resolution Action Updated Date"),
        (EXPECTED_DATETIME, "Due Date"),
    ]:
        assert raw[field].null_count() == export[column].null_count()
        assert raw[field].drop_nulls().str.contains(ISO_UTC).all(), field


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


def test_timestamps_stay_text_when_the_mapping_is_pickled(sample: Path) -> None:
    """Beam pickles whatever a DoFn holds; the mapping's expressions must survive it."""
    restored = pickle.loads(pickle.dumps(NYC311))
    direct = next(read_raw_batches(sample, "nyc311", batch_rows=50))
    via_pickle = next(read_raw_batches(sample, "nyc311", mapping=restored, batch_rows=50))
    assert direct.equals(via_pickle)
    assert set(TIMESTAMP_FIELDS) <= set(direct.schema.names)
