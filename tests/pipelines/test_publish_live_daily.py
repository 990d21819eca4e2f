"""The live publisher's request_daily: each date file's partials are kept while the file is unchanged."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
from conftest import enriched_frame
from polars.testing import assert_frame_equal

from pipelines.publish_live import DailyPartialsByFile
from pipelines.sinks.requests.dataset import merge_partitions, published_requests
from pipelines.transforms.requests.aggregate import INPUT_COLUMNS, daily_partials, daily_series
from schemas import aggregates as ag
from schemas import requests as rq

TIMEZONE = "Europe/Moscow"


def request(rid: str, day: str, district: str, closed_after_hours: float | None = None) -> dict:
    requested = datetime.fromisoformat(f"{day}T08:00:00+00:00")
    closed = None if closed_after_hours is None else requested + timedelta(hours=closed_after_hours)
    return {rq.SERVICE_REQUEST_ID: rid, rq.REQUESTED_DATETIME: requested, rq.UPDATED_DATETIME: closed or requested,
            rq.CLOSED_DATETIME: closed, rq.HOURS_TO_CLOSE: closed_after_hours, rq.DISTRICT_ID: district,
            rq.CATEGORY: "road_damage", rq.SOURCE: "test", rq.SOURCE_FILE: "f", rq.SOURCE_POSITION: 0,
            rq.QUALITY_FLAGS: [], rq.STATUS: rq.Status.CLOSED if closed else rq.Status.OPEN,
            rq.INGESTED_AT: datetime(2026, 11, 1, tzinfo=UTC), rq.SCHEMA_VERSION_COLUMN: rq.SCHEMA_VERSION,
            rq.REQUEST_DATE: date.fromisoformat(day)}


def recomputed(dataset: Path) -> pl.DataFrame:
    """request_daily from the whole dataset, as the batch path computes it."""
    return daily_series(pl.concat([daily_partials(f, TIMEZONE) for f in published_requests(dataset, INPUT_COLUMNS)]))


def next_snapshot(dataset: Path, target: Path) -> Path:
    """What a publishing transaction starts from: every published file hard-linked."""
    for path in dataset.rglob("*.parquet"):
        (target / path.relative_to(dataset)).parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target / path.relative_to(dataset))
    return target


def test_only_rewritten_dates_are_read_again_and_the_series_stays_exact(tmp_path: Path) -> None:
    first = tmp_path / "s1"
    merge_partitions(first, enriched_frame([request("A", "2026-10-01", "N1", 30.0), request("B", "2026-10-01", "S1"),
                                            request("C", "2026-10-02", "N1"), request("D", "2026-10-03", "S1", 5.0)]))
    partials = DailyPartialsByFile()
    assert_frame_equal(partials.series(first, TIMEZONE), recomputed(first))
    assert partials.files_read == 3
    second = next_snapshot(first, tmp_path / "s2")
    # B and C close two days later: their request dates are rewritten, the 3rd is not
    merge_partitions(second, enriched_frame([request("B", "2026-10-01", "S1", 50.0), request("C", "2026-10-02", "N1", 48.0)]))
    series = partials.series(second, TIMEZONE)
    assert partials.files_read == 3 + 2
    assert_frame_equal(series, recomputed(second))
    assert series.filter(pl.col(ag.DAY) == date(2026, 10, 3))[ag.CLOSED].sum() == 2  # D, and B closed that day
