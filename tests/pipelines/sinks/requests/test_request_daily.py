"""WriteRequestDaily: every request_daily frame of a run, published as one file, replaced atomically."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import apache_beam as beam
import polars as pl
import pyarrow.parquet as pq
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from polars.testing import assert_frame_equal

from pipelines.sinks.requests.daily import WriteRequestDaily
from plumbing.atomic import PART_FILE, staging_dir
from schemas import aggregates as ag
from schemas import requests as rq


def daily(rows: list[tuple]) -> pl.DataFrame:
    """request_daily rows: (day, district, category, new, closed, backlog); names follow the id."""
    return pl.DataFrame(
        [{ag.DAY: day, rq.DISTRICT_ID: district, rq.DISTRICT_NAME: district and district.lower(),
          rq.PARENT_NAME: "North", rq.CATEGORY: category, ag.NEW: new, ag.CLOSED: closed,
          ag.BACKLOG: backlog, ag.MEDIAN_HOURS_TO_CLOSE: 12.0 if closed else None,
          ag.CLOSED_WITH_SLA_OUTCOME: closed, ag.SHARE_CLOSED_WITHIN_SLA: 1.0 if closed else None}
         for day, district, category, new, closed, backlog in rows],
        schema=pl.Schema(ag.REQUEST_DAILY),
    )


def write_daily(dataset: Path, frames: list[pl.DataFrame]) -> None:
    with TestPipeline(runner=FnApiRunner()) as pipeline:
        written = pipeline | "Frames" >> beam.Create(frames) | WriteRequestDaily(dataset)
        assert_that(written, equal_to([str(dataset / PART_FILE)]))


def published_files(dataset: Path) -> list[str]:
    return sorted(str(p.relative_to(dataset)) for p in dataset.rglob("*") if p.is_file())


def test_frames_of_a_run_become_one_sorted_file(tmp_path: Path) -> None:
    dataset = tmp_path / "datasets" / "request_daily"
    south = daily([(date(2026, 10, 2), "S1", "noise", 1, 0, 1), (date(2026, 10, 1), None, "noise", 2, 0, 2)])
    north = daily([(date(2026, 10, 1), "N1", "road_damage", 3, 1, 2), (date(2026, 10, 1), "N1", "noise", 1, 1, 0)])
    write_daily(dataset, [south, north])
    assert published_files(dataset) == [PART_FILE]
    expected = daily([
        (date(2026, 10, 1), "N1", "noise", 1, 1, 0),
        (date(2026, 10, 1), "N1", "road_damage", 3, 1, 2),
        (date(2026, 10, 1), None, "noise", 2, 0, 2),  # unplaced requests sort last within a day
        (date(2026, 10, 2), "S1", "noise", 1, 0, 1),
    ])
    assert_frame_equal(pl.read_parquet(dataset / PART_FILE), expected)
    assert pq.read_schema(dataset / PART_FILE).equals(ag.REQUEST_DAILY)


def test_a_new_run_replaces_the_whole_table(tmp_path: Path) -> None:
    """The file is swapped in whole (temp file in staging, renamed): no rows of the last run remain."""
    dataset = tmp_path / "datasets" / "request_daily"
    write_daily(dataset, [daily([(date(2026, 10, 1), "N1", "noise", 5, 0, 5)])])
    replacement = daily([(date(2026, 10, 3), "S1", "road_damage", 1, 0, 1)])
    write_daily(dataset, [replacement])
    assert published_files(dataset) == [PART_FILE]
    assert_frame_equal(pl.read_parquet(dataset / PART_FILE), replacement)
    assert staging_dir(dataset).is_dir() and not list(staging_dir(dataset).iterdir())


def test_no_frames_publish_an_empty_table_with_the_schema(tmp_path: Path) -> None:
    dataset = tmp_path / "datasets" / "request_daily"
    write_daily(dataset, [daily([(date(2026, 10, 1), "N1", "noise", 5, 0, 5)])])
    write_daily(dataset, [])
    assert_frame_equal(pl.read_parquet(dataset / PART_FILE), daily([]))
