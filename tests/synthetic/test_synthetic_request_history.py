"""Synthetic requests over time: the city's rhythm, closing against SLA, re-sent versions,
repeated reports, dead-letter rows, and the files the generator writes.

What the requests say and where they are is in `test_synthetic_request_content.py`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from demo_feed import ISO_Z, DemoFeed, true, utc
from polars.testing import assert_frame_equal

from schemas import requests as rq
from schemas.dead_letters import REASON, Reason
from synthetic.requests.generator import (
    DEFAULT_END,
    IS_RESEND,
    SyntheticDataError,
    generate_requests,
    truth_path,
    write_requests,
)


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> DemoFeed:
    return DemoFeed.build(tmp_path_factory.mktemp("cities"))


def test_timestamps_follow_the_city_rhythm(feed: DemoFeed) -> None:
    records = feed.records
    times = records.select(
        utc(rq.REQUESTED_DATETIME).alias(rq.REQUESTED_DATETIME),
        utc(rq.UPDATED_DATETIME).alias(rq.UPDATED_DATETIME),
    ).drop_nulls()
    start = DEFAULT_END - timedelta(days=60)
    assert (
        times[rq.REQUESTED_DATETIME].min() >= start
        and times[rq.REQUESTED_DATETIME].max() < DEFAULT_END
    )
    assert (times[rq.UPDATED_DATETIME] >= times[rq.REQUESTED_DATETIME]).all()
    local = times[rq.REQUESTED_DATETIME].dt.convert_time_zone("Europe/Moscow")
    hours = local.dt.hour()
    night, morning, evening = (
        hours.is_in([2, 3, 4]),
        hours.is_in([9, 10, 11]),
        hours.is_in([18, 19, 20]),
    )
    assert morning.mean() > 3 * night.mean() and evening.mean() > 3 * night.mean()
    days = local.dt.date().value_counts()
    weekend = days.filter(pl.col(rq.REQUESTED_DATETIME).dt.weekday() >= 6)["count"].mean()
    weekday = days.filter(pl.col(rq.REQUESTED_DATETIME).dt.weekday() <= 5)["count"].mean()
    assert weekend < 0.85 * weekday
    for column in rq.TIMESTAMP_FIELDS[1:]:
        assert records[column].drop_nulls().str.contains(ISO_Z).all(), column


def test_closing_against_sla(feed: DemoFeed) -> None:
    records = feed.records
    times = records.select(
        pl.col(rq.STATUS),
        utc(rq.REQUESTED_DATETIME).alias(rq.REQUESTED_DATETIME),
        utc(rq.CLOSED_DATETIME).alias(rq.CLOSED_DATETIME),
        utc(rq.EXPECTED_DATETIME).alias(rq.EXPECTED_DATETIME),
        utc(rq.UPDATED_DATETIME).alias(rq.UPDATED_DATETIME),
    )
    closed = times.get_column(rq.CLOSED_DATETIME).is_not_null()
    assert ((times.get_column(rq.STATUS) == rq.Status.CLOSED) == closed).all()
    assert 0.72 <= closed.mean() <= 0.88
    done = times.filter(
        pl.col(rq.CLOSED_DATETIME).is_not_null() & pl.col(rq.REQUESTED_DATETIME).is_not_null()
    )
    early = done.get_column(rq.CLOSED_DATETIME) < done.get_column(rq.REQUESTED_DATETIME)
    assert 0.001 <= early.mean() <= 0.01
    assert (done[rq.UPDATED_DATETIME] >= done[rq.CLOSED_DATETIME]).all()
    normal = done.filter(~early)
    within = normal[rq.CLOSED_DATETIME] <= normal[rq.EXPECTED_DATETIME]
    assert 0.7 <= within.mean() <= 0.88
    sla = normal[rq.EXPECTED_DATETIME] - normal[rq.REQUESTED_DATETIME]
    assert ((normal[rq.CLOSED_DATETIME] - normal[rq.REQUESTED_DATETIME]) > 3 * sla).mean() > 0.01
    assert set(sla.dt.total_days().unique()) == {1, 2, 3, 5, 8}


def test_resends_are_later_versions(feed: DemoFeed) -> None:
    both = feed.both
    resends = both.filter(pl.col(true(IS_RESEND)))
    assert 0.025 <= resends.height / both.height <= 0.035
    firsts = both.filter(~pl.col(true(IS_RESEND)))
    pairs = resends.join(firsts, on=rq.SERVICE_REQUEST_ID, suffix="_first")
    assert pairs.height == resends.height
    assert (pairs[true(rq.SOURCE_POSITION)] > pairs[true(rq.SOURCE_POSITION) + "_first"]).all()
    assert (pairs[rq.DESCRIPTION] == pairs[f"{rq.DESCRIPTION}_first"]).all()
    assert (pairs[rq.REQUESTED_DATETIME] == pairs[f"{rq.REQUESTED_DATETIME}_first"]).all()
    assert (pairs[rq.UPDATED_DATETIME] > pairs[f"{rq.UPDATED_DATETIME}_first"]).all()
    assert (pairs[rq.STATUS] == rq.Status.CLOSED).mean() > 0.5
    assert firsts.get_column(rq.SERVICE_REQUEST_ID).drop_nulls().is_unique().all()


def test_neighbours_report_the_same_problem(feed: DemoFeed) -> None:
    both = feed.both
    firsts = both.filter(~pl.col(true(IS_RESEND)))
    repeats = firsts.filter(pl.col(true(rq.DUPLICATE_OF)).is_not_null())
    assert 0.015 <= repeats.height / both.height <= 0.025
    pairs = repeats.join(
        firsts, left_on=true(rq.DUPLICATE_OF), right_on=true(rq.SERVICE_REQUEST_ID), suffix="_o"
    )
    assert pairs.height == repeats.height
    assert (pairs[true(rq.SERVICE_REQUEST_ID)] != pairs[true(rq.DUPLICATE_OF)]).all()
    assert (pairs[true(rq.CATEGORY)] == pairs[true(rq.CATEGORY) + "_o"]).all()
    north = (pairs[true(rq.LAT)] - pairs[true(rq.LAT) + "_o"]).to_numpy() * 111_200
    east = (pairs[true(rq.LONG)] - pairs[true(rq.LONG) + "_o"]).to_numpy() * 62_600
    assert np.hypot(north, east).max() <= 50
    gap = pairs.select(utc(rq.REQUESTED_DATETIME) - utc(f"{rq.REQUESTED_DATETIME}_o")).to_series()
    assert gap.drop_nulls().dt.total_minutes().is_between(0, 6 * 60).all()


def test_dead_letter_rows(feed: DemoFeed) -> None:
    both = feed.both
    reason = both.get_column(true(REASON)).fill_null("")
    assert 0.001 <= (reason != "").mean() <= 0.004
    no_id = both.get_column(rq.SERVICE_REQUEST_ID).is_null()
    assert (no_id == (reason == Reason.MISSING_ID)).all() and no_id.any()
    unparseable = both.select(utc(rq.REQUESTED_DATETIME).is_null()).to_series()
    assert (unparseable == (reason == Reason.BAD_TIMESTAMP)).all() and unparseable.any()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "open311-json"])
def test_every_format_round_trips(fmt: str, feed: DemoFeed, tmp_path: Path) -> None:
    records, truth = feed.records, feed.truth
    path = tmp_path / f"requests.{fmt.replace('open311-', '')}"
    write_requests(records, path, fmt, truth=truth)
    if fmt == "csv":
        back = pl.read_csv(path, schema=records.schema)
    elif fmt == "jsonl":
        back = pl.read_ndjson(path, schema=records.schema)
    elif fmt == "parquet":
        back = pl.read_parquet(path)
    else:
        body = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(body, list) and list(body[0]) == list(rq.OPEN311_FIELDS)
        assert all(isinstance(r[rq.LAT], float | None) for r in body)
        back = pl.DataFrame(body, schema=records.schema)
    assert back.height == records.height
    assert_frame_equal(back, records)
    assert_frame_equal(pl.read_parquet(truth_path(path)), truth)


def test_window_arguments_and_errors(feed: DemoFeed, tmp_path: Path) -> None:
    pack = feed.pack
    start = datetime(2026, 1, 1, tzinfo=UTC)
    records, _ = generate_requests(pack, 500, seed=1, start=start, days=7)
    requested = records.select(utc(rq.REQUESTED_DATETIME)).to_series().drop_nulls()
    assert requested.min() >= start and requested.max() < start + timedelta(days=7)
    with pytest.raises(SyntheticDataError, match="format"):
        write_requests(records, tmp_path / "x.xml", "xml")
    with pytest.raises(SyntheticDataError, match="positive"):
        generate_requests(pack, 0, seed=1)
    assert re.fullmatch(r"requests\.truth\.parquet", truth_path(Path("a/requests.csv")).name)
