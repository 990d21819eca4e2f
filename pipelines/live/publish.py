"""The live path's dataset publisher: enriched rows and dead letters into the Parquet datasets.

The windows step hands over everything it kept since the last hand-over, with the offsets up to
which that is complete; a background thread merges the rows into `datasets/requests/` (the
batch path's upsert: `sinks.requests.merge_partition`), rewrites the dead-letter files those
segments fall in from the live store (one file per source and `DEAD_LETTER_BUCKET` segments),
recomputes `request_daily`, and only then records the publisher's offsets. A crash before that
makes the next run publish the same segments again, which the upsert and the rewrite absorb: no
row is published twice.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.landing.log import segment_ref
from pipelines.live.store import PUBLISHER, LiveStore
from pipelines.sinks.atomic import write_atomic
from pipelines.sinks.dead_letters import DEAD_FILE_SCHEMA, dead_letter_path
from pipelines.sinks.request_daily import write_request_daily
from pipelines.sinks.requests import merge_partition, published_requests
from pipelines.transforms.aggregate import INPUT_COLUMNS, daily_partials, daily_series
from pipelines.workspace import Workspace
from schemas import requests as rq

DEAD_LETTER_BUCKET = 1_000  # segments per published dead-letter file


def dead_letter_bucket(seq: int) -> int:
    return seq // DEAD_LETTER_BUCKET


@dataclass
class Handover:
    requests: list[pl.DataFrame] = field(default_factory=list)
    dead_letter_buckets: set[tuple[str, int]] = field(default_factory=set)
    offsets: dict[str, int] = field(default_factory=dict)  # per source: all below are handed over


def publish(workspace: Workspace, timezone: str, store: LiveStore, handover: Handover) -> None:
    """Publish one hand-over (synchronously); the caller records its offsets afterwards."""
    requests = pl.concat(handover.requests, how="diagonal_relaxed") if handover.requests else None
    if requests is not None and requests.height:
        for (day,), rows in requests.partition_by(rq.REQUEST_DATE, as_dict=True).items():
            merge_partition(workspace.requests_dataset, day.isoformat(), rows)
    dataset = workspace.dead_letters_dataset
    for source, bucket in sorted(handover.dead_letter_buckets):
        first = bucket * DEAD_LETTER_BUCKET
        refs = [segment_ref(source, seq) for seq in range(first, first + DEAD_LETTER_BUCKET)]
        dead = store.dead_letter_frame(refs)
        if dead.height:
            write_atomic(dead.sort(rq.SOURCE_FILE, rq.SOURCE_POSITION).drop(rq.SOURCE).to_arrow()
                         .cast(DEAD_FILE_SCHEMA), dead_letter_path(dataset, source, f"landing-{first:012d}"), dataset)
    if requests is not None and requests.height:
        partials = [daily_partials(frame, timezone) for frame in published_requests(workspace.requests_dataset, INPUT_COLUMNS)]
        write_request_daily(workspace.request_daily_dataset, [daily_series(pl.concat(partials))] if partials else [])


class DatasetPublisher:
    """Publishes hand-overs in order on one background thread; `wait()` / `close()` wait for them."""

    def __init__(self, workspace: Workspace, timezone: str, store_path: Path) -> None:
        self.workspace, self.timezone, self.store_path = workspace, timezone, store_path
        self.queue: queue.Queue[Handover | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="urbanpulse-dataset-publisher", daemon=True)
        self.thread.start()

    def submit(self, handover: Handover) -> None:
        self._raise_if_failed()
        self.queue.put(handover)

    def wait(self) -> None:
        """Block until every submitted hand-over is published and its offsets recorded."""
        self.queue.join()
        self._raise_if_failed()

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise RuntimeError("publishing the live datasets failed") from self.error

    def _run(self) -> None:
        store = LiveStore(self.store_path)
        try:
            while (handover := self.queue.get()) is not None:
                try:
                    if self.error is None:
                        publish(self.workspace, self.timezone, store, handover)
                        store.set_offsets(handover.offsets, PUBLISHER)
                except Exception as error:  # surfaced to the stream at its next hand-over
                    self.error = error
                finally:
                    self.queue.task_done()
        finally:
            self.queue.task_done()  # the closing None
            store.close()
