"""CommitToLiveStore: complete landing segments -> one live-store transaction each run of them.

The step receives, per segment, its enriched request rows and its dead letters as separate
frames (validation splits them upstream). It counts rows per segment until every record of the
segment is accounted for, then commits all complete segments at once: accepted request states,
the windows their events change, the ledger, the dead letters (including versions refused as
`too_late`) and the new offsets, in one transaction (`LiveStore.commit`). Segments read again
below the committed offset (after a restart, for the datasets) never touch the windows twice.
Rows also go, in batches, to the dataset publisher.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics

from pipelines.landing.log import LandingLog, parse_segment_ref, segment_ref
from pipelines.live.changes import HORIZON, empty_states, request_changes, request_states
from pipelines.live.publish import DatasetPublisher, Handover
from pipelines.live.read import STOP
from pipelines.live.stats import WindowStats, apply_deltas, window_deltas
from pipelines.live.store import Commit, LiveStore, SegmentLedger
from pipelines.transforms.validate import dead_letter_rows
from pipelines.workspace import Workspace
from schemas import dead_letters as dl
from schemas import requests as rq

REQUESTS, DEAD = "requests", "dead_letters"
STAGE_WINDOWS = "windows"
STATS_CACHE_LIMIT = 300_000


class AccountingError(RuntimeError):
    """A segment's records in != records out + dead letters."""


@dataclass
class _Pending:
    expected: int
    landed_at: datetime
    requests: list[pl.DataFrame] = field(default_factory=list)
    dead: list[pl.DataFrame] = field(default_factory=list)
    seen: int = 0

    @property
    def complete(self) -> bool:
        return self.seen >= self.expected


class _CommitSegments(beam.DoFn):
    def __init__(self, home: str, store_path: str, timezone: str, lateness: timedelta,
                 handover_seconds: float, bounded: bool) -> None:
        self.home, self.store_path, self.timezone = home, store_path, timezone
        self.lateness, self.handover_seconds, self.bounded = lateness, handover_seconds, bounded
        self.records_in = Metrics.counter("urbanpulse", "records_in")
        self.records_out = Metrics.counter("urbanpulse", "records_out")
        self.dead_letters = Metrics.counter("urbanpulse", "dead_letters")
        self.too_late = Metrics.counter("urbanpulse", "too_late")

    def setup(self) -> None:
        self.workspace = Workspace(Path(self.home))
        self.store = LiveStore(Path(self.store_path))
        self.offsets = self.store.offsets()
        self.dataset_offsets = self.store.offsets("dataset_offsets")
        self.logs: dict[str, LandingLog] = {}
        self.pending: dict[tuple[str, int], _Pending] = {}
        self.stats: dict[tuple, WindowStats] = {}
        self.handover = Handover([], [], {}, {})
        self.last_handover = time.monotonic()
        self.publisher = DatasetPublisher(self.workspace, self.timezone, Path(self.store_path))

    def process(self, tagged: tuple[str, pl.DataFrame]):
        kind, frame = tagged
        for (ref,), rows in frame.partition_by(rq.SOURCE_FILE, as_dict=True).items():
            key = parse_segment_ref(ref)
            pending = self.pending.get(key) or self._open(*key)
            (pending.requests if kind == REQUESTS else pending.dead).append(rows)
            pending.seen += rows.height
        complete = sorted(key for key, pending in self.pending.items() if pending.complete)
        if complete:
            self._commit(complete)
        if time.monotonic() - self.last_handover > self.handover_seconds:
            self._hand_over()
        return []

    def finish_bundle(self) -> None:
        if self.bounded or STOP.is_set():
            self._hand_over()
            self.publisher.wait()

    def teardown(self) -> None:
        self.publisher.close()
        self.store.close()

    def _open(self, source: str, seq: int) -> _Pending:
        log = self.logs.setdefault(source, LandingLog(self.workspace.landing, source))
        pending = self.pending[(source, seq)] = _Pending(log.rows(seq), log.landed_at(seq))
        return pending

    def _commit(self, keys: list[tuple[str, int]]) -> None:
        segments = {key: self.pending.pop(key) for key in keys}
        live = {k: p for k, p in segments.items() if k[1] >= self.offsets.get(k[0], 0)}
        replayed = {k: p for k, p in segments.items() if k not in live}
        if live:
            self._commit_live(live)
        if replayed:
            self._keep_for_datasets_replayed(replayed)

    def _commit_live(self, segments: dict[tuple[str, int], _Pending]) -> None:
        now = datetime.now(UTC)
        requests = _concat([f for p in segments.values() for f in p.requests])
        dead = [f for p in segments.values() for f in p.dead]
        too_late = pl.Series(rq.SERVICE_REQUEST_ID, [], pl.String)
        states = windows = None
        if requests.height:
            horizons = pl.DataFrame({
                rq.SOURCE_FILE: [segment_ref(*k) for k in segments],
                HORIZON: [p.landed_at - self.lateness for p in segments.values()],
            }).with_columns(pl.col(HORIZON).dt.cast_time_unit("us"))
            incoming = request_states(requests).join(horizons, on=rq.SOURCE_FILE)
            previous = self.store.states_of(incoming[rq.SERVICE_REQUEST_ID])
            events, states, too_late = request_changes(previous, incoming, self.timezone)
            windows = self._apply(window_deltas(events))
            refused = requests.filter(pl.col(rq.SERVICE_REQUEST_ID).is_in(too_late.implode()))
            if refused.height:
                dead.append(dead_letter_rows(
                    refused, pl.lit(dl.Reason.TOO_LATE),
                    pl.format("version of {} is older than the allowed lateness ({}) at landing",
                              pl.col(rq.SERVICE_REQUEST_ID), pl.lit(str(self.lateness))),
                    STAGE_WINDOWS, now,
                ))
                requests = requests.filter(~pl.col(rq.SERVICE_REQUEST_ID).is_in(too_late.implode()))
        dead_frame = _concat(dead)
        ledger = [self._ledger(k, p, requests, dead_frame) for k, p in segments.items()]
        offsets = {}
        for source, seq in segments:
            offsets[source] = max(offsets.get(source, 0), seq + 1)
        self.store.commit(Commit(
            states=states if states is not None else empty_states(),
            windows=windows or {}, segments=ledger, dead_letters=dead_frame, offsets=offsets,
        ))
        self.offsets.update(offsets)
        self._keep_for_datasets(segments, requests, dead_frame)
        self.too_late.inc(len(too_late))

    def _ledger(self, key, pending: _Pending, requests: pl.DataFrame, dead: pl.DataFrame) -> SegmentLedger:
        ref = segment_ref(*key)
        out = requests.filter(pl.col(rq.SOURCE_FILE) == ref).height if requests.height else 0
        failed = dead.filter(pl.col(rq.SOURCE_FILE) == ref).height if dead.height else 0
        if out + failed != pending.expected:
            raise AccountingError(f"segment {ref}: {pending.expected} records in, {out} out + {failed} dead")
        self.records_in.inc(pending.expected)
        self.records_out.inc(out)
        self.dead_letters.inc(failed)
        return SegmentLedger(key[0], key[1], pending.landed_at, pending.expected, out, failed)

    def _apply(self, deltas: pl.DataFrame) -> dict[tuple, WindowStats]:
        if len(self.stats) > STATS_CACHE_LIMIT:
            self.stats.clear()
        keys = [tuple(row) for row in deltas.select(deltas.columns[:4]).iter_rows()]
        self.stats.update(self.store.window_stats(k for k in keys if k not in self.stats))
        return {key: self.stats[key] for key in apply_deltas(self.stats, deltas)}

    def _keep_for_datasets(self, segments, requests: pl.DataFrame, dead: pl.DataFrame) -> None:
        wanted = [k for k in segments if k[1] >= self.dataset_offsets.get(k[0], 0)]
        if not wanted:
            return
        refs = [segment_ref(*k) for k in wanted]
        if requests.height:
            self.handover.requests.append(requests.filter(pl.col(rq.SOURCE_FILE).is_in(refs)))
        if dead.height:
            self.handover.dead_letters.append(dead.filter(pl.col(rq.SOURCE_FILE).is_in(refs)))
        for source, seq in wanted:
            self.handover.first_seq.setdefault(source, seq)
            self.handover.offsets[source] = max(self.handover.offsets.get(source, 0), seq + 1)

    def _keep_for_datasets_replayed(self, segments: dict[tuple[str, int], _Pending]) -> None:
        """Segments committed live earlier, read again only for the datasets: the store knows their dead letters."""
        refs = [segment_ref(*k) for k in segments]
        dead = self.store.dead_letter_frame(refs)
        requests = _concat([f for p in segments.values() for f in p.requests])
        if requests.height and dead.height:
            requests = requests.join(dead.select(rq.SOURCE_FILE, rq.SOURCE_POSITION),
                                     on=[rq.SOURCE_FILE, rq.SOURCE_POSITION], how="anti")
        self._keep_for_datasets(segments, requests, dead)

    def _hand_over(self) -> None:
        self.last_handover = time.monotonic()
        if not self.handover.offsets:
            return
        self.publisher.submit(self.handover)
        self.dataset_offsets.update(self.handover.offsets)
        self.handover = Handover([], [], {}, {})


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


class CommitToLiveStore(beam.PTransform):
    """(enriched request frames, dead-letter frames) in; commits to the live store, nothing out."""

    def __init__(self, home: Path, store_path: Path, timezone: str, lateness: timedelta,
                 handover_seconds: float, bounded: bool) -> None:
        super().__init__()
        self.commit = _CommitSegments(str(home), str(store_path), timezone, lateness, handover_seconds, bounded)

    def expand(self, inputs):
        requests, dead = inputs
        tagged_requests = requests | "TagRequests" >> beam.Map(lambda frame: (REQUESTS, frame))
        tagged_dead = dead | "TagDeadLetters" >> beam.Map(lambda frame: (DEAD, frame))
        return (
            (tagged_requests, tagged_dead)
            | "JoinBySegment" >> beam.Flatten()
            | "CommitSegments" >> beam.ParDo(self.commit)
        )
