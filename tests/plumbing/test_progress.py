"""The progress record: throttled atomic writes, merging the writers of a run, rates and ETA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plumbing.progress import (
    AGGREGATING,
    PUBLISHING,
    READING,
    Progress,
    ProgressRecord,
    ProgressWriter,
    merge_records,
    progress_line,
    read_progress,
    read_records,
    write_record,
)


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_writes_are_throttled_and_flush_writes_what_was_held_back(tmp_path: Path) -> None:
    clock = Clock()
    writer = ProgressWriter(tmp_path, "run-1", READING, total=1_000, min_seconds=0.25, clock=clock)
    assert writer.report(rows=10, done=100)  # the first report is written at once
    clock.now += 0.1
    assert not writer.report(rows=10, done=100)
    assert [r.rows for r in read_records(tmp_path)] == [10]
    clock.now += 0.2  # 0.3 s after the first write
    assert writer.report(rows=10, done=100)
    assert [(r.rows, r.done, r.total) for r in read_records(tmp_path)] == [(30, 300, 1_000)]
    clock.now += 0.01
    writer.report(rows=5)
    writer.flush()
    assert [(r.rows, r.updated) for r in read_records(tmp_path)] == [(35, clock.now)]
    assert writer.report(force=True)
    assert [p.name for p in tmp_path.iterdir()] == [writer.path.name]  # no temporary file left


def test_a_record_that_is_not_one_of_ours_is_skipped(tmp_path: Path) -> None:
    write_record(tmp_path / "0-a.json", ProgressRecord("run-1", READING, 1.0, 2.0, rows=7))
    (tmp_path / "0-b.json").write_text("{not json")
    (tmp_path / "0-c.json").write_text(json.dumps({"something": "else"}))
    assert [r.rows for r in read_records(tmp_path)] == [7]
    assert read_progress(tmp_path / "missing") is None


def test_the_writers_of_a_run_add_up() -> None:
    records = [
        ProgressRecord("run-1", READING, started=100.0, updated=110.0, rows=4_000, done=400, total=2_000),
        ProgressRecord("run-1", READING, started=102.0, updated=109.0, rows=6_000, done=600, total=2_000),
    ]
    progress = merge_records(records, now=110.0)
    assert (progress.stage, progress.rows, progress.done, progress.total) == (READING, 10_000, 1_000, 2_000)
    assert progress.fraction == 0.5
    assert progress.rows_per_second == pytest.approx(1_000.0)  # 10,000 rows in 10 s of reading
    # half the bytes in 10 s: 10 s to go, counted down since the last record
    assert progress.eta_seconds(now=110.0) == pytest.approx(10.0)
    assert progress.eta_seconds(now=113.0) == pytest.approx(7.0)
    assert progress.eta_seconds(now=130.0) == 0.0


def test_a_later_stage_takes_over_and_keeps_the_rows_read() -> None:
    reading = ProgressRecord("run-1", READING, started=100.0, updated=120.0, rows=50_000, done=9, total=9)
    to_publish = ProgressRecord("run-1", PUBLISHING, started=101.0, updated=119.0, total=40)
    # the count of dates to publish arrives while reading: the run is still reading
    assert merge_records([reading, to_publish], now=121.0).stage == READING
    published = ProgressRecord("run-1", PUBLISHING, started=121.0, updated=125.0, done=10)
    progress = merge_records([reading, to_publish, published], now=125.0)
    assert (progress.stage, progress.done, progress.total, progress.rows) == (PUBLISHING, 10, 40, 50_000)
    assert progress.rows_per_second == pytest.approx(2_500.0)  # reading took 20 s
    assert progress.eta_seconds(now=125.0) == pytest.approx(3 * (125.0 - 101.0))
    aggregated = ProgressRecord("run-1", AGGREGATING, started=130.0, updated=131.0, done=3)
    assert merge_records([reading, to_publish, published, aggregated], now=131.0).stage == AGGREGATING


def test_a_retried_run_shows_the_new_attempt_only() -> None:
    first = ProgressRecord("attempt-1", PUBLISHING, started=100.0, updated=150.0, done=30, total=40)
    second = ProgressRecord("attempt-2", READING, started=160.0, updated=161.0, rows=1_000, done=1, total=10)
    progress = merge_records([first, second], now=161.0)
    assert (progress.run_id, progress.stage, progress.rows) == ("attempt-2", READING, 1_000)


def test_no_eta_from_the_first_few_units() -> None:
    progress = Progress("run-1", PUBLISHING, rows=1, done=1, total=365, stage_started=0.0, updated=1.0,
                        reading_seconds=1.0)
    assert progress.eta_seconds(now=1.0) is None
    unknown_total = Progress("run-1", READING, rows=0, done=0, total=0, stage_started=0.0, updated=0.0,
                             reading_seconds=0.0)
    assert unknown_total.eta_seconds(now=5.0) is None and unknown_total.rows_per_second is None


def test_the_line_names_the_stage_rows_rate_and_eta() -> None:
    reading = Progress("run-1", READING, rows=204_800, done=17_816_000, total=52_400_000, stage_started=0.0,
                       updated=12.0, reading_seconds=12.0)
    assert progress_line(reading, elapsed=14.0, now=12.0) == (
        "[0:14] reading 34% of 52.4 MB, ETA 0:23 | 204,800 rows, 17,067 rows/s"
    )
    publishing = Progress("run-1", PUBLISHING, rows=600_000, done=120, total=365, stage_started=40.0,
                          updated=44.0, reading_seconds=40.0)
    assert progress_line(publishing, elapsed=3_700.0, now=44.0) == (
        "[1:01:40] publishing partitions 120/365 months, ETA 0:08 | 600,000 rows, 15,000 rows/s"
    )
    assert progress_line(None, elapsed=3.0, now=3.0) == "[0:03] starting"
