"""WindowRequestStats: the live windows as a portable Beam composite for streaming runners.

Enriched request frames, timestamped with the time their segment landed, become per-request
versions keyed by id; `RequestChanges` (per-key state: the kept version) turns each accepted
version into signed events at their event times (`changes.request_changes`, the same function
the live store applies in bulk); the events are windowed by event time (quarter hours, and the
city's local days), with an allowed lateness and a late firing for every late event, and
combined by `WindowStatsFn`, the same accumulator the live store keeps. Versions refused as too
late leave as dead-letter ids, never silently.

Runs unchanged on any runner with state and event-time triggers (Flink, Dataflow, Prism); on
this machine the tests drive it with `TestStream`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import apache_beam as beam
import polars as pl
from apache_beam.coders import PickleCoder
from apache_beam.transforms import trigger, window
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec
from apache_beam.utils.timestamp import Duration, Timestamp

from plumbing.live_store.figures import WindowStats
from plumbing.live_store.versions import HORIZON, empty_states, request_changes, request_states
from schemas import live as lv
from schemas import requests as rq

TOO_LATE = "too_late"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class WindowStatsFn(beam.CombineFn):
    """Signed events of one window x district x category -> that window's figures."""

    def create_accumulator(self) -> WindowStats:
        return WindowStats()

    def add_input(self, accumulator: WindowStats, event: dict) -> WindowStats:
        sign = int(event[lv.SIGN])
        closed = event[lv.EVENT_KIND] == lv.CLOSED
        hours = event[rq.HOURS_TO_CLOSE]
        counted = [hours] if closed and hours is not None else []
        return accumulator.add(
            sign if not closed else 0, sign if closed else 0,
            sign if closed and event[rq.CLOSED_WITHIN_SLA] else 0,
            counted if sign > 0 else [], counted if sign < 0 else [],
        )

    def merge_accumulators(self, accumulators) -> WindowStats:
        merged = WindowStats()
        for accumulator in accumulators:
            merged.merge(accumulator)
        return merged

    def extract_output(self, accumulator: WindowStats) -> dict:
        return accumulator.figures()


class CityDayWindows(window.NonMergingWindowFn):
    """One window per local calendar day of the city (23 or 25 hours long on DST days)."""

    def __init__(self, timezone: str) -> None:
        self.timezone = timezone

    def assign(self, context):
        zone = ZoneInfo(self.timezone)
        local = context.timestamp.to_utc_datetime(has_tz=True).astimezone(zone)
        midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
        following = midnight + timedelta(days=1)  # aware arithmetic is wall-clock: next local midnight
        return [window.IntervalWindow(Timestamp.from_utc_datetime(midnight.astimezone(UTC)),
                                      Timestamp.from_utc_datetime(following.astimezone(UTC)))]

    def get_window_coder(self):
        return beam.coders.coders.IntervalWindowCoder()

    def __eq__(self, other) -> bool:
        return isinstance(other, CityDayWindows) and other.timezone == self.timezone

    def __hash__(self) -> int:
        return hash(self.timezone)


def window_fn(kind: str, timezone: str) -> window.WindowFn:
    if kind == lv.QUARTER_HOUR:
        return window.FixedWindows(int(lv.QUARTER_HOUR_LENGTH.total_seconds()))
    return CityDayWindows(timezone)


def _versions(frame: pl.DataFrame, timestamp=beam.DoFn.TimestampParam):
    landed = timestamp.to_utc_datetime(has_tz=True)
    for row in request_states(frame).iter_rows(named=True):
        yield row[rq.SERVICE_REQUEST_ID], (row, landed)


class RequestChanges(beam.DoFn):
    """Per request id: the kept version in state; accepted versions out as timestamped events."""

    KEPT = ReadModifyWriteStateSpec("kept_version", PickleCoder())

    def __init__(self, timezone: str, lateness: timedelta) -> None:
        self.timezone = timezone
        self.lateness = lateness

    def process(self, keyed, kept=beam.DoFn.StateParam(KEPT)):
        request_id, (version, landed) = keyed
        schema = empty_states().schema
        previous = kept.read()
        previous_frame = pl.DataFrame([previous], schema=schema) if previous else empty_states()
        incoming = pl.DataFrame([version], schema=schema).with_columns(
            pl.lit(landed - self.lateness).dt.cast_time_unit("us").alias(HORIZON)
        )
        events, accepted, too_late = request_changes(previous_frame, incoming, self.timezone)
        if too_late.len():
            yield beam.pvalue.TaggedOutput(TOO_LATE, request_id)
            return
        if accepted.height:
            kept.write(accepted.row(0, named=True))
        for event in events.iter_rows(named=True):
            yield window.TimestampedValue(
                ((event[lv.WINDOW], event[rq.DISTRICT_ID], event[rq.CATEGORY]), event),
                Timestamp(micros=(event[lv.EVENT_TIME] - EPOCH) // timedelta(microseconds=1)),
            )


class _Figures(beam.DoFn):
    def process(self, keyed, win=beam.DoFn.WindowParam, pane=beam.DoFn.PaneInfoParam):
        (kind, district, category), figures = keyed
        yield {
            lv.WINDOW: kind,
            lv.WINDOW_START: win.start.to_utc_datetime(has_tz=True),
            rq.DISTRICT_ID: district,
            rq.CATEGORY: category,
            **figures,
            "pane": pane.timing,  # 0 early, 1 on time, 2 late (PaneInfoTiming)
        }


class WindowRequestStats(beam.PTransform):
    """Enriched request frames (landing-time timestamps) -> {"windows": figure rows per pane,
    "too_late": ids of refused versions}."""

    def __init__(self, timezone: str, lateness: timedelta = lv.DEFAULT_ALLOWED_LATENESS) -> None:
        super().__init__()
        self.timezone = timezone
        self.lateness = lateness

    def expand(self, frames):
        changes = (
            frames
            | "VersionsById" >> beam.FlatMap(_versions).with_output_types(tuple[str, tuple])
            | "RequestChanges" >> beam.ParDo(RequestChanges(self.timezone, self.lateness))
            .with_output_types(tuple[tuple[str, str, str], dict]).with_outputs(TOO_LATE, main="events")
        )
        per_kind = []
        for kind in lv.WINDOW_KINDS:
            per_kind.append(
                changes.events
                | f"Only{kind}" >> beam.Filter(lambda keyed, k=kind: keyed[0][0] == k)
                | f"Window{kind}" >> beam.WindowInto(
                    window_fn(kind, self.timezone),
                    trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                    accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
                    allowed_lateness=Duration.of(self.lateness.total_seconds()),
                )
                | f"Figures{kind}" >> beam.CombinePerKey(WindowStatsFn())
                | f"Rows{kind}" >> beam.ParDo(_Figures())
                | f"Rewindow{kind}" >> beam.WindowInto(window.GlobalWindows())
            )
        return {"windows": per_kind | "AllWindows" >> beam.Flatten(), "too_late": changes[TOO_LATE]}
