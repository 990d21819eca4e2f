"""HandOverToPublisher: the live path's kept rows, scrubbed, into the dataset publisher in batches.

After `CommitToLiveStore` has committed a segment (so its change is already on the feed) and
`ScrubPersonalData` has scrubbed its texts, this step keeps the segment's accepted rows and, every
`handover_seconds` or when the stream drains, hands everything kept since the last hand-over to
the publisher with the offsets up to which that is complete. The pipeline passes the publisher in
(`HandoverPublisher`, `publish_live.DatasetPublisher`); it publishes in its own process and
records its offset afterwards, so a crash before that publishes the same segments again, which
its upserts absorb.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import apache_beam as beam
import polars as pl

from pipelines.sinks.live_store import KEPT
from pipelines.stopping import STOP
from plumbing.landing import parse_segment_ref
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import dead_letters as dl
from schemas import live as lv
from schemas import requests as rq
from schemas.personal_data import SCRUBBED_COLUMNS

DEAD_LETTER_BUCKET = 1_000  # segments per published dead-letter file


def dead_letter_bucket(seq: int) -> int:
    return seq // DEAD_LETTER_BUCKET


@dataclass
class Handover:
    """Kept rows since the last hand-over, the dead-letter files to rewrite, and per source the
    offset below which all is handed over."""

    requests: list[pl.DataFrame] = field(default_factory=list)
    dead_letter_buckets: set[tuple[str, int]] = field(default_factory=set)
    offsets: dict[str, int] = field(default_factory=dict)


class HandoverPublisher(Protocol):
    """Publishes hand-overs in order and records the publisher offsets."""

    def submit(self, handover: Handover) -> None: ...

    def wait(self) -> None: ...

    def close(self) -> None: ...


PublisherFactory = Callable[[Workspace, str, str, Path], HandoverPublisher]  # (workspace, city, timezone, store)


class _HandOver(beam.DoFn):
    def __init__(self, home: str, city: str, store_path: str, timezone: str, handover_seconds: float,
                 bounded: bool, publisher: PublisherFactory) -> None:
        self.home, self.city, self.store_path, self.timezone = home, city, store_path, timezone
        self.handover_seconds, self.bounded, self.publisher_factory = handover_seconds, bounded, publisher

    def setup(self) -> None:
        store = LiveStoreReader.open(Path(self.store_path))
        try:
            self.published = store.offsets(lv.PUBLISHER)
        finally:
            store.close()
        self.handover = Handover()
        self.buckets_this_run: set[tuple[str, int]] = set()
        self.last_handover = time.monotonic()
        self.publisher = self.publisher_factory(Workspace(Path(self.home)), self.city, self.timezone,
                                                Path(self.store_path))

    def process(self, rows: pl.DataFrame):
        source, seq = parse_segment_ref(rows[rq.SOURCE_FILE][0])
        if seq < self.published.get(source, 0):
            return  # published before a restart
        kept = _withheld_where_unscrubbed(rows.filter(pl.col(KEPT)).drop(KEPT))
        if kept.height:
            self.handover.requests.append(kept)
        self.handover.dead_letter_buckets.add((source, dead_letter_bucket(seq)))
        self.buckets_this_run |= self.handover.dead_letter_buckets
        self.handover.offsets[source] = seq + 1
        if time.monotonic() - self.last_handover > self.handover_seconds:
            self._hand_over()

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

    def _hand_over(self) -> None:
        self.last_handover = time.monotonic()
        if self.handover.offsets or self.handover.dead_letter_buckets:
            self.publisher.submit(self.handover)
            self.published.update(self.handover.offsets)
            self.handover = Handover()


def _withheld_where_unscrubbed(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows the scrubber raised on are committed requests already: publish them, but without
    their free texts, which could not be checked for personal data."""
    if dl.ENRICH_FAILED_STEP not in rows.columns:
        return rows
    unscrubbed = pl.col(dl.ENRICH_FAILED_STEP).is_not_null()
    texts = [c for c in (*SCRUBBED_COLUMNS, rq.ADDRESS) if c in rows.columns]
    return rows.with_columns(pl.when(~unscrubbed).then(pl.col(c)).alias(c) for c in texts).drop(
        dl.ENRICH_FAILED_STEP, dl.ENRICH_FAILED_ERROR)


class HandOverToPublisher(beam.PTransform):
    """Scrubbed segment rows (flagged KEPT) in; nothing out: the publisher writes the datasets."""

    def __init__(self, home: Path, city: str, store_path: Path, timezone: str, handover_seconds: float,
                 bounded: bool, publisher: PublisherFactory) -> None:
        super().__init__()
        self.args = (str(home), city, str(store_path), timezone, handover_seconds, bounded, publisher)

    def expand(self, rows):
        return rows | "HandOverRows" >> beam.ParDo(_HandOver(*self.args))
