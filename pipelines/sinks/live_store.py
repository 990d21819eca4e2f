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
The windows step then passes each segment's rows on, flagged `KEPT` where they were accepted,
for `ScrubPersonalData` and the hand-over to the dataset publisher (`live_handover`): scrubbing
comes after the commit, off the path from landing to the feed (the live store holds no text).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics

from plumbing.dead_letters import dead_letter_rows, split_enrich_failures
from plumbing.landing import LandingLog, parse_segment_ref, segment_ref
from plumbing.live_store.figures import WindowStats, apply_deltas, hours_changes, window_deltas
from plumbing.live_store.versions import HORIZON, request_changes, request_states
from plumbing.live_store.writer import Commit, LiveStore, SegmentLedger
from schemas import dead_letters as dl
from schemas import ledger
from schemas import live as lv
from schemas import requests as rq

STAGE_WINDOWS = "windows"
STATS_CACHE_LIMIT = 1_000_000  # window keys kept in memory (about 0.4 KB each)
KEPT = "_kept"  # on the rows the windows step passes on: accepted (True) or refused / failed


class _SegmentCommitter(beam.DoFn):
    """One reader of validated segments: commit each segment it has not committed yet."""

    reader = ""
    log_class = LandingLog  # the kind of landing log the segments come from

    def __init__(self, landing_root: str, store_path: str, timezone: str, lateness: timedelta) -> None:
        self.landing_root, self.store_path, self.timezone, self.lateness = landing_root, store_path, timezone, lateness
        self.records = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.committed_records(self.reader))

    def setup(self) -> None:
        self.store = LiveStore(Path(self.store_path))
        self.offsets = self.store.offsets(self.reader)
        self.logs: dict[str, LandingLog] = {}

    def process(self, frame: pl.DataFrame):
        refs = frame[rq.SOURCE_FILE].unique()
        if refs.len() != 1:
            raise ValueError(f"a frame of the live path must hold one landing segment, got {refs.to_list()}")
        source, seq = parse_segment_ref(refs[0])
        log = self.logs.setdefault(source, self.log_class(Path(self.landing_root), source))
        segment = SegmentLedger(source, seq, *log.info(seq))
        if seq >= self.offsets.get(source, 0):
            kept = self.commit(segment, frame)
            self.records.inc(kept.height)
            self.offsets[source] = seq + 1
            yield from self.passed_on(frame, kept)
        else:
            yield from self.recommitted(segment, frame)

    def commit(self, segment: SegmentLedger, frame: pl.DataFrame) -> pl.DataFrame:
        """Commit `frame` in one transaction; returns the rows that were kept."""
        raise NotImplementedError

    def passed_on(self, frame: pl.DataFrame, kept: pl.DataFrame):
        """What the step emits for a segment it just committed (nothing by default)."""
        return ()

    def recommitted(self, segment: SegmentLedger, frame: pl.DataFrame):
        """A segment this reader committed before, read again after a restart."""
        return ()

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

    def commit(self, segment: SegmentLedger, requests: pl.DataFrame) -> pl.DataFrame:
        requests, failed = split_enrich_failures(requests, datetime.now(UTC))
        self.enrich_failed.inc(failed.height)
        segment.enrich_failed = failed.height
        if not requests.height:  # a step failed on every record of the segment
            self.store.commit(Commit(self.reader, segment, failed))
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
        return accepted

    def passed_on(self, frame: pl.DataFrame, kept: pl.DataFrame):
        """Every row of the segment (so that even a segment with nothing kept reaches the hand-over),
        flagged KEPT where it was accepted."""
        rows = frame.drop(dl.ENRICH_FAILED_STEP, dl.ENRICH_FAILED_ERROR, strict=False)
        accepted = pl.col(rq.SOURCE_POSITION).is_in(kept[rq.SOURCE_POSITION].implode())
        yield rows.with_columns(accepted.alias(KEPT))

    def recommitted(self, segment: SegmentLedger, frame: pl.DataFrame):
        """The rows committed before, for a hand-over that may not have happened: dead letters of
        the segment (too late, enrich failed) were committed with it, so they are not kept."""
        dead = self.store.dead_letter_frame([segment_ref(segment.source, segment.seq)])
        yield from self.passed_on(frame, frame.join(dead.select(rq.SOURCE_FILE, rq.SOURCE_POSITION),
                                                    on=[rq.SOURCE_FILE, rq.SOURCE_POSITION], how="anti"))

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


class CommitToLiveStore(beam.PTransform):
    """(enriched request frames, dead-letter frames) in, one frame per landing segment; out: each
    segment's request rows, flagged KEPT where the windows step accepted them."""

    def __init__(self, landing_root: Path, store_path: Path, timezone: str, lateness: timedelta) -> None:
        super().__init__()
        self.args = (str(landing_root), str(store_path), timezone, lateness)

    def expand(self, inputs):
        requests, dead = inputs
        _ = dead | "CommitDeadLetters" >> beam.ParDo(_CommitDeadLetters(*self.args))
        return requests | "CommitWindows" >> beam.ParDo(_CommitWindows(*self.args)).with_output_types(pl.DataFrame)
