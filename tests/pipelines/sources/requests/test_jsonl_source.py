"""JSON Lines: one request per line; a line that is not a JSON object is still a record."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from raw_reading import read_raw

from pipelines.sources.requests import SourceFormatError, SourceMapping, read_raw_batches
from schemas.requests import (
    DESCRIPTION,
    LAT,
    REQUESTED_DATETIME,
    SERVICE_REQUEST_ID,
    SOURCE_POSITION,
    STATUS,
    UNREADABLE_RECORD,
)

LINES = [
    '{"service_request_id": "1", "lat": 40.70, "requested_datetime": "2023-02-28T23:45:00Z"}',
    '{"service_request_id": "2", "description": "trunc',
    "",
    '["not", "an", "object"]',
    '{"service_request_id": "4", "status": "open", "description": {"text": "nested"}}',
]


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("batch_rows", [1, 2, 100])
def test_malformed_lines_become_unreadable_rows(feed: Path, batch_rows: int) -> None:
    raw = read_raw(feed, "jsonl", batch_rows=batch_rows)
    expected = pl.DataFrame(
        {
            SERVICE_REQUEST_ID: ["1", None, None, "4"],
            STATUS: [None, None, None, "open"],
            DESCRIPTION: [None, None, None, '{"text":"nested"}'],
            REQUESTED_DATETIME: ["2023-02-28T23:45:00Z", None, None, None],
            LAT: ["40.70", None, None, None],  # the number as written, not 40.7
            SOURCE_POSITION: [0, 1, 2, 3],  # the blank line is not a record
            UNREADABLE_RECORD: [None, LINES[1], LINES[3], None],
        },
        schema_overrides={SOURCE_POSITION: pl.Int64},
    )
    assert_frame_equal(raw.select(expected.columns), expected)


def test_mapped_key_in_no_record_fails_at_the_end(feed: Path) -> None:
    mapping = SourceMapping(columns={DESCRIPTION: "text"})
    with pytest.raises(SourceFormatError, match=r"no column 'text'"):
        list(read_raw_batches(feed, "jsonl", mapping=mapping))


def test_mapped_key_present_in_some_records(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text('{"id": "1"}\n{"id": "2", "text": "hello"}\n', encoding="utf-8")
    mapping = SourceMapping(columns={SERVICE_REQUEST_ID: "id", DESCRIPTION: "text"})
    raw = read_raw(path, "jsonl", mapping=mapping, batch_rows=1)
    assert raw.select(SERVICE_REQUEST_ID, DESCRIPTION).rows() == [("1", None), ("2", "hello")]
