"""Parquet: typed columns (UrbanPulse's own exports) arrive as the same text a CSV would give."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal
from raw_reading import read_raw

from pipelines.sources.requests import SourceFormatError, SourceMapping, read_raw_batches
from schemas.requests import (
    CLOSED_DATETIME,
    DESCRIPTION,
    EXPECTED_DATETIME,
    LAT,
    LONG,
    REQUESTED_DATETIME,
    SERVICE_REQUEST_ID,
    SOURCE,
    UPDATED_DATETIME,
)


@pytest.fixture
def typed(tmp_path: Path) -> Path:
    path = tmp_path / "requests.parquet"
    pl.DataFrame(
        {
            SERVICE_REQUEST_ID: [101, 102],
            REQUESTED_DATETIME: [
                datetime(2023, 2, 28, 23, 45, tzinfo=UTC),
                datetime(2012, 5, 22, 23, 57, 23, 970000, tzinfo=UTC),
            ],
            UPDATED_DATETIME: [datetime(2023, 3, 1, 9, 0), None],  # naive: mapping's timezone
            EXPECTED_DATETIME: [date(2023, 3, 10), None],
            CLOSED_DATETIME: ["2023-03-01T10:00:00Z", "not yet"],
            LAT: [40.74821053178345, 0.0],
            LONG: [-74.00748519439084, None],
        },
        schema_overrides={REQUESTED_DATETIME: pl.Datetime("ns", "UTC")},
    ).write_parquet(path)
    return path


def test_typed_columns_become_text(typed: Path) -> None:
    raw = read_raw(typed, "parquet", mapping=SourceMapping(timezone="America/New_York"))
    expected = pl.DataFrame(
        {
            SERVICE_REQUEST_ID: ["101", "102"],
            REQUESTED_DATETIME: ["2023-02-28T23:45:00Z", "2012-05-22T23:57:23.970000Z"],
            UPDATED_DATETIME: ["2023-03-01T14:00:00Z", None],
            EXPECTED_DATETIME: ["2023-03-10T05:00:00Z", None],
            CLOSED_DATETIME: ["2023-03-01T10:00:00Z", "not yet"],
            LAT: ["40.74821053178345", "0.0"],
            LONG: ["-74.00748519439084", None],
        }
    )
    assert_frame_equal(raw.select(expected.columns), expected)


def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "requests.parquet"
    path.write_text("service_request_id\n1\n")
    with pytest.raises(SourceFormatError, match=r"cannot read .* as Parquet"):
        list(read_raw_batches(path, "parquet"))


def test_nan_ids_and_coordinates_are_missing_not_one_id(tmp_path: Path) -> None:
    """Regression (integrity probe at f906a3d): Parquet rows with NaN ids collapsed into one row."""
    path = tmp_path / "nan.parquet"
    pl.DataFrame({
        SERVICE_REQUEST_ID: [1.0, float("nan"), float("nan"), 2.5],
        REQUESTED_DATETIME: ["2026-11-01T08:00:00Z"] * 4,
        LAT: [55.1, float("nan"), 55.2, 55.3],
    }).write_parquet(path)
    raw = read_raw(path, "parquet")
    assert raw[SERVICE_REQUEST_ID].to_list() == ["1.0", None, None, "2.5"]
    assert raw[LAT].to_list() == ["55.1", None, "55.2", "55.3"]


def test_typed_times_outside_years_1_to_9999_keep_what_the_file_holds(tmp_path: Path) -> None:
    """Found by tests/fuzz: polars panicked formatting such values and aborted the run."""
    path = tmp_path / "requests.parquet"
    table = pa.table({
        SERVICE_REQUEST_ID: ["1", "2", "3"],
        REQUESTED_DATETIME: pa.array([2**62, 0, None], pa.int64()).cast(pa.timestamp("us")),
        EXPECTED_DATETIME: pa.array([-(2**31), 0, None], pa.int32()).cast(pa.date32()),
        DESCRIPTION: pa.array([2**62, 0, None], pa.int64()).cast(pa.timestamp("ms", "UTC")),
    })
    pq.write_table(table, path)
    raw = read_raw(path, "parquet", mapping=SourceMapping(timezone="Etc/GMT-14"))  # UTC+14
    assert raw[REQUESTED_DATETIME].to_list() == [f"{2**62} us since 1970-01-01", "1969-12-31T10:00:00Z", None]
    assert raw[EXPECTED_DATETIME].to_list() == [f"{-(2**31)} days since 1970-01-01", "1969-12-31T10:00:00Z", None]
    assert raw[DESCRIPTION].to_list() == [f"{2**62} ms since 1970-01-01", "1970-01-01 00:00:00.000+00:00", None]


def test_text_that_is_not_utf8_is_repaired(tmp_path: Path) -> None:
    """Found by tests/fuzz: Parquet readers do not check UTF-8 and polars panicked on it."""
    path = tmp_path / "requests.parquet"
    broken = pa.array([b"1", b"caf\xe9"], pa.binary()).view(pa.string())
    pq.write_table(pa.table({SERVICE_REQUEST_ID: ["1", "2"], DESCRIPTION: broken,
                             SOURCE: pa.array([b"x", None]), REQUESTED_DATETIME: broken}), path)
    raw = read_raw(path, "parquet")
    assert raw[DESCRIPTION].to_list() == ["1", "caf\ufffd"]
    assert raw[SOURCE].to_list() == ["x", "requests"]
    assert raw[REQUESTED_DATETIME].to_list() == ["1", "caf\ufffd"]
