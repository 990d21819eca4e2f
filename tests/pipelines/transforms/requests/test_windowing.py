"""WindowRequestStats under TestStream: on-time panes, late firings that update them, too-late refusals."""

from __future__ import annotations

import pickle
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apache_beam as beam
import polars as pl
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner
from apache_beam.testing.test_stream import TestStream
from apache_beam.utils.timestamp import Timestamp

from pipelines.transforms.requests.windowing import WindowRequestStats
from plumbing.frames import FrameCoder
from schemas import live as lv
from schemas import requests as rq

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
LATENESS = timedelta(hours=1)
ON_TIME, LATE = 1, 2


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def enriched(*versions: dict) -> pl.DataFrame:
    """Enriched rows with just what the windows read; `seq` stands for the landing segment."""
    rows = []
    for position, v in enumerate(versions):
        closed = v.get("closed")
        hours = (closed - v["requested"]).total_seconds() / 3600 if closed else None
        rows.append({
            rq.SERVICE_REQUEST_ID: v["id"], rq.REQUESTED_DATETIME: v["requested"],
            rq.UPDATED_DATETIME: v.get("updated", closed), rq.CLOSED_DATETIME: closed,
            rq.DISTRICT_ID: v.get("district", "D1"), rq.CATEGORY: v.get("category", "road_damage"),
            rq.SOURCE_FILE: f"landing:test:{v['seq']:012d}", rq.SOURCE_POSITION: position,
            rq.HOURS_TO_CLOSE: hours, rq.CLOSED_WITHIN_SLA: (hours < 24) if closed else None,
        })
    return pl.DataFrame(rows, schema={
        rq.SERVICE_REQUEST_ID: pl.String, rq.REQUESTED_DATETIME: pl.Datetime("us", "UTC"),
        rq.UPDATED_DATETIME: pl.Datetime("us", "UTC"), rq.CLOSED_DATETIME: pl.Datetime("us", "UTC"),
        rq.DISTRICT_ID: pl.String, rq.CATEGORY: pl.String, rq.SOURCE_FILE: pl.String,
        rq.SOURCE_POSITION: pl.Int64, rq.HOURS_TO_CLOSE: pl.Float64, rq.CLOSED_WITHIN_SLA: pl.Boolean,
    })


def landed(frame: pl.DataFrame, at: datetime) -> beam.window.TimestampedValue:
    return beam.window.TimestampedValue(frame, Timestamp.from_utc_datetime(at))


def _read_all(path: Path) -> list:
    values = []
    if path.exists():
        with open(path, "rb") as handle:
            while True:
                try:
                    values.append(pickle.load(handle))
                except EOFError:
                    return values
    return values


def run_stream(stream: TestStream, timezone: str = "UTC") -> tuple[list[dict], list[str]]:
    """Run on the bundle-based direct runner, collecting every fired pane into files."""
    folder = Path(tempfile.mkdtemp(prefix="urbanpulse-windows-"))
    windows, too_late = folder / "windows.pickle", folder / "too_late.pickle"
    options = PipelineOptions([])
    options.view_as(StandardOptions).streaming = True
    with beam.Pipeline(runner=BundleBasedDirectRunner(), options=options) as pipeline:
        result = pipeline | stream | WindowRequestStats(timezone, LATENESS)
        _ = result["windows"] | "CollectWindows" >> beam.Map(_append_to, str(windows))
        _ = result["too_late"] | "CollectTooLate" >> beam.Map(_append_to, str(too_late))
    return _read_all(windows), _read_all(too_late)


def _append_to(value, path: str) -> None:
    with open(path, "ab") as handle:
        pickle.dump(value, handle)


def panes(rows: list[dict], kind: str, start: datetime, district: str = "D1") -> list[dict]:
    found = [r for r in rows if r[lv.WINDOW] == kind and r[lv.WINDOW_START] == start and r[rq.DISTRICT_ID] == district]
    return sorted(found, key=lambda r: (r["pane"], r[lv.NEW], r[lv.CLOSED]))


@pytest.fixture(scope="module")
def stream_result():
    stream = (
        TestStream(coder=FrameCoder())
        .advance_watermark_to(Timestamp.from_utc_datetime(T0))
        .add_elements([landed(enriched(
            {"id": "A", "requested": minutes(1), "seq": 0},
            {"id": "B", "requested": minutes(5), "seq": 0},
        ), minutes(6))])
        .advance_watermark_to(Timestamp.from_utc_datetime(minutes(20)))
        # late, within the allowed lateness: C was made in the first quarter hour; A is closed
        .add_elements([landed(enriched(
            {"id": "C", "requested": minutes(10), "seq": 1},
            {"id": "A", "requested": minutes(1), "closed": minutes(25), "seq": 1},
        ), minutes(26))])
        .advance_watermark_to(Timestamp.from_utc_datetime(minutes(120)))
        # beyond the allowed lateness at landing: refused, reported as too late
        .add_elements([landed(enriched({"id": "D", "requested": minutes(2), "seq": 2}), minutes(121))])
        # a re-send of B with nothing new changes nothing
        .add_elements([landed(enriched({"id": "B", "requested": minutes(5), "seq": 3}), minutes(122))])
        .advance_watermark_to_infinity()
    )
    return run_stream(stream)


def test_on_time_pane_then_late_firing_updates_the_window(stream_result):
    rows, _ = stream_result
    first_quarter = panes(rows, lv.QUARTER_HOUR, T0)
    assert [(p["pane"], p[lv.NEW]) for p in first_quarter] == [(ON_TIME, 2), (LATE, 3)]


def test_status_update_counts_the_close_in_its_own_window_without_a_second_new(stream_result):
    rows, _ = stream_result
    close_quarter = panes(rows, lv.QUARTER_HOUR, minutes(15))
    assert close_quarter[-1][lv.CLOSED] == 1 and close_quarter[-1][lv.NEW] == 0
    assert close_quarter[-1][lv.MEDIAN_HOURS_TO_CLOSE] == pytest.approx(24 / 60)
    day = panes(rows, lv.DAY, datetime(2026, 11, 2, tzinfo=UTC))[-1]
    assert (day[lv.NEW], day[lv.CLOSED], day[lv.CLOSED_WITHIN_SLA]) == (3, 1, 1)


def test_version_beyond_allowed_lateness_is_refused_not_counted(stream_result):
    rows, too_late = stream_result
    assert too_late == ["D"]
    assert max(p[lv.NEW] for p in panes(rows, lv.QUARTER_HOUR, T0)) == 3


def test_day_windows_follow_the_city_midnight():
    stream = (
        TestStream(coder=FrameCoder())
        .add_elements([landed(enriched(
            {"id": "M", "requested": datetime(2026, 11, 2, 22, 30, tzinfo=UTC), "seq": 0},
        ), datetime(2026, 11, 2, 22, 31, tzinfo=UTC))])
        .advance_watermark_to_infinity()
    )
    rows, _ = run_stream(stream, timezone="Europe/Moscow")
    day = [r for r in rows if r[lv.WINDOW] == lv.DAY]
    # 22:30 UTC is 01:30 on 3 November in Moscow (UTC+3): the day window starts at 21:00 UTC
    assert [r[lv.WINDOW_START] for r in day] == [datetime(2026, 11, 2, 21, 0, tzinfo=UTC)]


def test_the_portable_composite_and_the_live_store_logic_agree():
    """The same versions through WindowRequestStats (final panes) and through the live store's
    bulk path (request_changes -> window_deltas -> apply_deltas) give the same figures."""
    from plumbing.live_store.figures import apply_deltas, window_deltas
    from plumbing.live_store.versions import HORIZON, empty_states, request_changes, request_states

    batches = [
        (enriched({"id": "A", "requested": minutes(1), "seq": 0}, {"id": "B", "requested": minutes(5), "seq": 0},
                  {"id": "C", "requested": minutes(31), "district": "D2", "seq": 0}), minutes(32)),
        (enriched({"id": "A", "requested": minutes(1), "closed": minutes(50), "seq": 1},
                  {"id": "B", "requested": minutes(5), "category": "noise", "updated": minutes(51), "seq": 1}),
         minutes(52)),
        (enriched({"id": "C", "requested": minutes(31), "district": "D2", "closed": minutes(70), "seq": 2},
                  {"id": "D", "requested": minutes(65), "seq": 2}), minutes(71)),
    ]
    stream = TestStream(coder=FrameCoder())
    for frame, at in batches:
        stream = stream.add_elements([landed(frame, at)]).advance_watermark_to(Timestamp.from_utc_datetime(at))
    rows, _ = run_stream(stream.advance_watermark_to_infinity())
    final = {}
    for row in sorted(rows, key=lambda r: r["pane"]):
        final[(row[lv.WINDOW], row[lv.WINDOW_START], row[rq.DISTRICT_ID], row[rq.CATEGORY])] = row

    state, stats = empty_states(), {}
    for frame, at in batches:
        incoming = request_states(frame).with_columns(pl.lit(at - LATENESS).dt.cast_time_unit("us").alias(HORIZON))
        events, accepted, _ = request_changes(state, incoming, "UTC")
        state = pl.concat([state.filter(~pl.col(rq.SERVICE_REQUEST_ID).is_in(accepted[rq.SERVICE_REQUEST_ID].implode())),
                           accepted])
        apply_deltas(stats, window_deltas(events))
    live = {key: s.figures() for key, s in stats.items() if any(s.figures()[f] for f in (lv.NEW, lv.CLOSED))}
    beam = {key: {f: row[f] for f in live[next(iter(live))]} for key, row in final.items()
            if row[lv.NEW] or row[lv.CLOSED]}
    assert live.keys() == beam.keys() and len(live) >= 6
    for key in live:
        assert live[key] == pytest.approx(beam[key]), key
