"""CommitToLiveStore: each landing segment's results into the live store, once, as it arrives.

Validation splits a segment into valid requests and dead letters; each output has its own
committing step (a Flatten would break fusion on `FnApiRunner` and hold one side back until the
stream ends). Each step commits one segment per transaction together with its own offset:
    windows       accepted request states, the windows their events change, versions refused as
                  `too_late`, a change row for the feed, the segment's records out
    dead_letters  the segment's invalid records
A frame below the step's committed offset (read again after a restart) is not committed again.
Rows a step after validation could not enrich (`pipelines.transforms.guard`) become dead letters
`enrich_failed` in the windows step's transaction, with their share of the segment's ledger.
The windows step also hands rows, in batches, to the dataset publisher (its own offset; the
pipeline passes the publisher in, see `HandoverPublisher`); the published dead letters are
rewritten from the store, so they need no hand-over of their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics

from pipelines.stopping import STOP
from plumbing.dead_letters import dead_letter_rows, split_enrich_failures
from plumbing.landing import LandingLog, parse_segment_ref, segment_ref
from plumbing.live_store.figures import WindowStats, apply_deltas, hours_changes, window_deltas
from plumbing.live_store.versions import HORIZON, request_changes, request_states
from plumbing.live_store.writer import Commit, LiveStore, SegmentLedger
from plumbing.workspace import Workspace
from schemas import dead_letters as dl
from schemas import ledger
from schemas import live as lv
from schemas import requests as rq

STAGE_WINDOWS = "windows"
STATS_CACHE_LIMIT = 1_000_000  # window keys kept in memory (about 0.4 KB each)
DEAD_LETTER_BUCKET = 1_000  # segments per published dead-letter file


def dead_letter_bucket(seq: int) -> int:
    return seq // DEAD_LETTER_BUCKET


@dataclass
class Handover:
    """What the windows step hands the dataset publisher: kept rows since the last hand-over,
    the dead-letter files to rewrite, and per source the offset below which all is handed over."""

    requests: list[pl.DataFrame] = field(default_factory=list)
    dead_letter_buckets: set[tuple[str, int]] = field(default_factory=set)
    offsets: dict[str, int] = field(default_factory=dict)


class HandoverPublisher(Protocol):
    """Publishes hand-overs in order and records the publisher offsets (`publish_live`)."""

    def submit(self, handover: Handover) -> None: ...

    def wait(self) -> None: ...

    def close(self) -> None: ...


PublisherFactory = Callable[[Workspace, str, Path], HandoverPublisher]  # (workspace, timezone, store)


class _SegmentCommitter(beam.DoFn):
    """One reader of validated segments: commit each segment it has not committed yet."""

    reader = ""

    def __init__(self, home: str, store_path: str, timezone: str, lateness: timedelta,
                 handover_seconds: float, bounded: bool, publisher: PublisherFactory) -> None:
        self.home, self.store_path, self.timezone = home, store_path, timezone
        self.lateness, self.handover_seconds, self.bounded = lateness, handover_seconds, bounded
        self.publisher_factory = publisher
        self.records = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.committed_records(self.reader))

    def setup(self) -> None:
        self.workspace = Workspace(Path(self.home))
        self.store = LiveStore(Path(self.store_path))
        self.offsets = self.store.offsets(self.reader)
        self.logs: dict[str, LandingLog] = {}

    def process(self, frame: pl.DataFrame):
        refs = frame[rq.SOURCE_FILE].unique()
        if refs.len() != 1:
            raise ValueError(f"a frame of the live path must hold one landing segment, got {refs.to_list()}")
        source, seq = parse_segment_ref(refs[0])
        log = self.logs.setdefault(source, LandingLog(self.workspace.landing, source))
        segment = SegmentLedger(source, seq, *log.info(seq))
        if seq >= self.offsets.get(source, 0):
            self.records.inc(self.commit(segment, frame).height)
            self.offsets[source] = seq + 1
        else:
            self.recommitted(segment, frame)
        return []

    def commit(self, segment: SegmentLedger, frame: pl.DataFrame) -> pl.DataFrame:
        """Commit `frame` in one transaction; returns the rows that were kept."""
        raise NotImplementedError

    def recommitted(self, segment: SegmentLedger, frame: pl.DataFrame) -> None:
        """A segment this reader committed before, read again after a restart."""

    def teardown(self) -> None:
        self.store.close()


class _CommitDeadLetters(_SegmentCommitter):
    reader = lv.DEAD_LETTERS_READER

    def commit(self, segment: SegmentLedger, dead: pl.DataFrame) -> pl.DataFrame:
        segment.invalid = dead.height
        self.store.commit(Commit(self.reader, segment, dead))
        return dead


class _CommitWindows(_SegmentCommitter):
    reader = lv.WINDOWS_READER

    def setup(self) -> None:
        super().setup()
        self.stats: dict[tuple, WindowStats] = {}
        self.cached_starts: dict[tuple, int] = {}  # (window, start) -> commit that last used it
        self.commits = 0
        self.too_late = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.TOO_LATE)
        self.enrich_failed = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.ENRICH_FAILED)
        self.published = self.store.offsets(lv.PUBLISHER)
        self.handover = Handover()
        self.buckets_this_run: set[tuple[str, int]] = set()
        self.last_handover = time.monotonic()
        self.publisher = self.publisher_factory(self.workspace, self.timezone, Path(self.store_path))

    def commit(self, segment: SegmentLedger, requests: pl.DataFrame) -> pl.DataFrame:
        requests, failed = split_enrich_failures(requests, datetime.now(UTC))
        self.enrich_failed.inc(failed.height)
        segment.enrich_failed = failed.height
        if not requests.height:  # a step failed on every record of the segment
            self.store.commit(Commit(self.reader, segment, failed))
            self._keep(segment, requests)
            return requests
        incoming = request_states(requests).with_columns(
            pl.lit(segment.landed_at - self.lateness).dt.cast_time_unit("us").alias(HORIZON)
        )
        previous = self.store.states_of(incoming[rq.SERVICE_REQUEST_ID])
        events, states, too_late = request_changes(previous, incoming, self.timezone)
        refused = pl.col(rq.SERVICE_REQUEST_ID).is_in(too_late.implode())
        late = dead_letter_rows(
            requests.filter(refused), pl.lit(dl.Reason.TOO_LATE),
            pl.format("this version is older than the allowed lateness ({}) when it landed",
                      pl.lit(str(self.lateness))),
            STAGE_WINDOWS, datetime.now(UTC),
        )
        accepted = requests.filter(~refused)
        segment.records_out, segment.too_late = accepted.height, late.height
        deltas = window_deltas(events).with_columns(pl.col(lv.WINDOW_START).dt.epoch("us"))
        dead = pl.concat([late, failed]) if failed.height else late
        self.store.commit(Commit(self.reader, segment, dead, states, self._apply(deltas), hours_changes(deltas)))
        self.too_late.inc(late.height)
        self._keep(segment, accepted)
        return accepted

    def recommitted(self, segment: SegmentLedger, requests: pl.DataFrame) -> None:
        if segment.seq < self.published.get(segment.source, 0):
            return
        requests, _ = split_enrich_failures(requests, datetime.now(UTC))  # committed before
        late = self.store.dead_letter_frame([segment_ref(segment.source, segment.seq)])
        if late.height and requests.height:
            requests = requests.join(late.select(rq.SOURCE_FILE, rq.SOURCE_POSITION),
                                     on=[rq.SOURCE_FILE, rq.SOURCE_POSITION], how="anti")
        self._keep(segment, requests)

    def _keep(self, segment: SegmentLedger, requests: pl.DataFrame) -> None:
        if requests.height:
            self.handover.requests.append(requests)
        self.handover.dead_letter_buckets.add((segment.source, dead_letter_bucket(segment.seq)))
        self.buckets_this_run |= self.handover.dead_letter_buckets
        self.handover.offsets[segment.source] = segment.seq + 1
        if time.monotonic() - self.last_handover > self.handover_seconds:
            self._hand_over()

    def _apply(self, deltas: pl.DataFrame) -> dict[tuple, WindowStats]:
        """Window figures changed by `deltas`; whole window starts are cached from the store at once.
        Keys hold the window start in epoch microseconds, as the store does."""
        if len(self.stats) > STATS_CACHE_LIMIT:
            self._forget_least_used_starts()
        used = set(deltas.select(lv.WINDOW, lv.WINDOW_START).unique().iter_rows())
        missing = used - self.cached_starts.keys()
        if missing:
            self.stats.update(self.store.window_stats(missing))
        self.commits += 1
        self.cached_starts.update(dict.fromkeys(used, self.commits))
        return {key: self.stats[key] for key in apply_deltas(self.stats, deltas)}

    def _forget_least_used_starts(self) -> None:
        """Drop the half of the cached window starts used longest ago (they reload on demand)."""
        by_use = sorted(self.cached_starts, key=self.cached_starts.get)
        forgotten = set(by_use[: len(by_use) // 2])
        self.stats = {key: stats for key, stats in self.stats.items() if key[:2] not in forgotten}
        for start in forgotten:
            del self.cached_starts[start]

    def finish_bundle(self) -> None:
        """Bundles end when the reader idles (about every second): publish what is due, or all at the end."""
        if self.bounded or STOP.is_set():
            # dead letters of the last segments were committed after their hand-over: rewrite them all
            self.handover.dead_letter_buckets |= self.buckets_this_run
            self._hand_over()
            self.publisher.wait()
        elif time.monotonic() - self.last_handover > self.handover_seconds:
            self._hand_over()

    def teardown(self) -> None:
        self.publisher.close()
        super().teardown()

    def _hand_over(self) -> None:
        self.last_handover = time.monotonic()
        if self.handover.offsets or self.handover.dead_letter_buckets:
            self.publisher.submit(self.handover)
            self.published.update(self.handover.offsets)
            self.handover = Handover()


class CommitToLiveStore(beam.PTransform):
    """(enriched request frames, dead-letter frames) in, one frame per landing segment; nothing out.

    `publisher` builds the dataset publisher the windows step hands its rows to (module-level,
    so it travels with the pickled step)."""

    def __init__(self, home: Path, store_path: Path, timezone: str, lateness: timedelta,
                 handover_seconds: float, bounded: bool, publisher: PublisherFactory) -> None:
        super().__init__()
        self.args = (str(home), str(store_path), timezone, lateness, handover_seconds, bounded, publisher)

    def expand(self, inputs):
        requests, dead = inputs
        _ = dead | "CommitDeadLetters" >> beam.ParDo(_CommitDeadLetters(*self.args))
        return requests | "CommitWindows" >> beam.ParDo(_CommitWindows(*self.args))
