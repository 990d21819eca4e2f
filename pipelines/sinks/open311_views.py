"""CommitOpen311Views: each segment's accepted requests, scrubbed, into the live store's Open311 view.

Runs after `ScrubPersonalData`, beside the hand-over to the dataset publisher, so `GET requests`
serves the texts the datasets publish (never the raw ones) and the feed's windows never wait for
the scrubber. Rows the scrubber raised on keep no free text here either. The writes are
upserts by version key (`plumbing.live_store.writer_open311`), so a segment passed on again after
a restart (`CommitToLiveStore` re-emits segments whose hand-over may be missing) changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics

from pipelines.sinks.live_store import KEPT
from plumbing.live_store.writer import LiveStore
from plumbing.live_store.writer_open311 import commit_views
from schemas import dead_letters as dl
from schemas import ledger
from schemas import requests as rq
from schemas.personal_data import SCRUBBED_COLUMNS

OPEN311_VIEWS = "open311_views"  # metrics: views written


class _CommitViews(beam.DoFn):
    def __init__(self, store_path: str) -> None:
        self.store_path = store_path
        self.views = Metrics.counter(ledger.METRICS_NAMESPACE, OPEN311_VIEWS)

    def setup(self) -> None:
        self.store = LiveStore(Path(self.store_path))

    def process(self, rows: pl.DataFrame):
        kept = rows.filter(pl.col(KEPT)) if KEPT in rows.columns else rows
        if dl.ENRICH_FAILED_STEP in kept.columns:
            unscrubbed = pl.col(dl.ENRICH_FAILED_STEP).is_not_null()
            texts = [c for c in (*SCRUBBED_COLUMNS, rq.ADDRESS) if c in kept.columns]
            kept = kept.with_columns(pl.when(~unscrubbed).then(pl.col(c)).alias(c) for c in texts)
        written, _ = commit_views(self.store.db, kept)
        self.views.inc(written)
        return ()

    def teardown(self) -> None:
        self.store.close()


class CommitOpen311Views(beam.PTransform):
    """Scrubbed segment rows (flagged KEPT) in; nothing out."""

    def __init__(self, store_path: Path) -> None:
        super().__init__()
        self.store_path = str(store_path)

    def expand(self, rows):
        return rows | "CommitViewRows" >> beam.ParDo(_CommitViews(self.store_path))
