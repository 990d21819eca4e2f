"""ReadLandingSegments: a splittable DoFn that follows landing logs for as long as the stream runs.

One element per source; its restriction is the range of segment sequence numbers still to read,
starting at the live store's committed offset. The DoFn claims and emits each published segment
as one frame, timestamped with the time it landed (the event-time watermark of the live path
follows landing time). With nothing new it polls for up to `IDLE_SECONDS`, then hands the rest
of its range back to the runner so other sources get a turn; on `FnApiRunner` the fused steps
downstream see each frame as soon as it is emitted. It only reads: files dropped into an inbox
are landed beside it (`pipelines.land_requests.InboxWatcher`).

A bounded read (replay) stops at a fixed end. A live read stops when `STOP` is set (Ctrl-C,
SIGTERM): it claims the rest of its range, so the pipeline drains and finishes cleanly.
"""

from __future__ import annotations

import time
from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Duration, Timestamp

from pipelines.stopping import STOP
from plumbing.landing import LandingLog

UNBOUNDED = 2**62
POLL_SECONDS = 0.02
IDLE_SECONDS = 1.0


class _ReadSegments(beam.DoFn, RestrictionProvider):
    """The DoFn is its own restriction provider: ranges start at the offsets it was built with."""

    def __init__(self, landing_root: str, start_offsets: dict[str, int],
                 end_offsets: dict[str, int] | None, log_class: type[LandingLog] = LandingLog) -> None:
        self.landing_root = landing_root
        self.start_offsets = start_offsets
        self.end_offsets = end_offsets
        self.log_class = log_class

    def initial_restriction(self, source: str) -> OffsetRange:
        end = self.end_offsets.get(source, 0) if self.end_offsets is not None else UNBOUNDED
        return OffsetRange(min(self.start_offsets.get(source, 0), end), end)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, source: str, restriction: OffsetRange) -> int:
        return restriction.size()

    def split(self, source: str, restriction: OffsetRange):
        yield restriction  # segments must be read in order

    def truncate(self, source: str, restriction: OffsetRange):
        return None  # on drain, unread segments stay in the log for the next run

    @beam.DoFn.unbounded_per_element()
    def process(self, source: str, tracker=beam.DoFn.RestrictionParam()):
        bounded = self.end_offsets is not None
        log = self.log_class(Path(self.landing_root), source)
        seq = tracker.current_restriction().start
        idle_since = time.monotonic()
        while True:
            if STOP.is_set() and not bounded:
                tracker.try_claim(tracker.current_restriction().stop - 1)
                return
            if bounded or log.exists(seq):
                if not tracker.try_claim(seq):
                    return
                segment = log.read(seq)
                yield beam.window.TimestampedValue(
                    pl.from_arrow(segment.records), Timestamp.from_utc_datetime(segment.landed_at)
                )
                seq += 1
                idle_since = time.monotonic()
                continue
            if time.monotonic() - idle_since > IDLE_SECONDS:
                tracker.defer_remainder(Duration.of(0))
                return
            time.sleep(POLL_SECONDS)


class ReadLandingSegments(beam.PTransform):
    """Source names in; one raw-record frame per landing segment out, in sequence order
    (`log_class`: a kind of landing log other than the request logs, e.g. ballots)."""

    def __init__(self, landing_root: Path, start_offsets: dict[str, int],
                 end_offsets: dict[str, int] | None = None, log_class: type[LandingLog] = LandingLog) -> None:
        super().__init__()
        self.reader = _ReadSegments(str(landing_root), start_offsets, end_offsets, log_class)

    def expand(self, sources):
        return sources | "ReadSegments" >> beam.ParDo(self.reader).with_output_types(pl.DataFrame)
