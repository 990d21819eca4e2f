"""The landing log: ordered, gap-free, never half-visible segments; the inbox picks up dropped files."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from conftest import raw_batch

from pipelines.land_requests import collect_inbox, land_file
from plumbing.landing import SEGMENT_ROWS, LandingLog, parse_segment_ref
from schemas import requests as rq


def rows(n: int, prefix: str = "r") -> pa.RecordBatch:
    return raw_batch([{rq.SERVICE_REQUEST_ID: f"{prefix}{i}", rq.REQUESTED_DATETIME: "2026-11-01T10:00:00Z",
                       rq.DESCRIPTION: "x" * 200} for i in range(n)])


def test_segments_get_consecutive_numbers_and_keep_their_records(tmp_path: Path):
    log = LandingLog(tmp_path, "city311")
    assert log.append(rows(3, "a"), origin="a.csv") == [0]
    assert log.append(rows(2, "b"), origin="b.csv") == [1]
    second = log.read(1)
    assert second.records[rq.SERVICE_REQUEST_ID].to_pylist() == ["b0", "b1"]
    assert second.origin == "b.csv"
    assert [parse_segment_ref(r) for r in second.records[rq.SOURCE_FILE].to_pylist()] == [("city311", 1)] * 2
    assert second.records[rq.SOURCE_POSITION].to_pylist() == [0, 1]
    assert log.end() == 2 and log.rows(0) == 3
    assert log.first_landed_since(second.landed_at) == 1


def test_a_large_file_becomes_several_segments(tmp_path: Path):
    log = LandingLog(tmp_path, "big")
    assert log.append(rows(SEGMENT_ROWS + 5), origin="big.csv") == [0, 1]
    assert [log.rows(0), log.rows(1)] == [SEGMENT_ROWS, 5]


def _produce(root: str, producer: int, count: int) -> None:
    log = LandingLog(Path(root), "shared")
    for i in range(count):
        log.append(rows(400, f"p{producer}-{i}-"), origin=f"p{producer}.csv")


def test_concurrent_producers_never_show_a_reader_a_partial_segment(tmp_path: Path):
    """Two producer processes append while this process reads every segment as soon as it appears."""
    log = LandingLog(tmp_path, "shared").create()
    producers = [multiprocessing.get_context("spawn").Process(target=_produce, args=(str(tmp_path), p, 25))
                 for p in range(2)]
    for process in producers:
        process.start()
    seen, deadline = 0, time.monotonic() + 120
    while seen < 50 and time.monotonic() < deadline:
        if log.exists(seen):
            segment = log.read(seen)  # raises if the file were incomplete
            assert segment.records.num_rows == 400
            assert len(set(segment.records[rq.SERVICE_REQUEST_ID].to_pylist())) == 400
            seen += 1
    for process in producers:
        process.join(timeout=60)
    assert seen == 50 and log.end() == 50
    assert not list(log.segments.glob(".*.tmp"))
    ids = pl.concat([pl.from_arrow(log.read(s).records) for s in range(50)])[rq.SERVICE_REQUEST_ID]
    assert ids.n_unique() == 50 * 400


def test_inbox_lands_complete_files_and_rejects_unreadable_ones(tmp_path: Path):
    log = LandingLog(tmp_path, "drop").create("csv")
    (log.inbox / "first.csv").write_text(
        "service_request_id,requested_datetime,description\n1,2026-11-01T10:00:00Z,яма\n2,2026-11-01T11:00:00Z,шум\n"
    )
    (log.inbox / "still-writing.csv.part").write_text("service_request_id\n")
    (log.inbox / "broken.csv").write_text("no_such_columns_here\n1\n")
    published = collect_inbox(log)
    assert published == [0]
    assert log.read(0).records[rq.DESCRIPTION].to_pylist() == ["яма", "шум"]
    assert (log.received / "first.csv").exists() and (log.inbox / "still-writing.csv.part").exists()
    assert (log.root / "rejected" / "broken.csv").exists() and not (log.inbox / "broken.csv").exists()
    assert "broken.csv" in (log.root / "rejected" / "broken.csv.error.txt").read_text()
    assert log.end() == 1  # nothing of the broken file was landed


def test_land_file_rejects_a_bad_source_name(tmp_path: Path):
    with pytest.raises(ValueError, match="source name"):
        LandingLog(tmp_path, "../escape")
    log = LandingLog(tmp_path, "ok")
    path = tmp_path / "one.csv"
    path.write_text("service_request_id,requested_datetime\n1,2026-11-01T10:00:00Z\n")
    assert land_file(log, path, "csv") == [0]
