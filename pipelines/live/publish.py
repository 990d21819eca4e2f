"""The live path's dataset publisher: enriched rows and dead letters into the Parquet datasets.

The stream hands over everything read since the last hand-over, together with the offsets up to
which that is complete; a background thread merges it into `datasets/requests/` (the batch
path's upsert: `sinks.requests.merge_partition`), writes the dead letters, recomputes
`request_daily`, and only then records the dataset offsets in the live store. A crash before
that record makes the next run publish the same segments again, which the upsert and the
dead-letter file names (one per source and first segment) absorb: no row is published twice.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.live.store import LiveStore
from pipelines.sinks.atomic import write_atomic
from pipelines.sinks.dead_letters import DEAD_FILE_SCHEMA, dead_letter_path
from pipelines.sinks.request_daily import write_request_daily
from pipelines.sinks.requests import merge_partition, published_requests
from pipelines.transforms.aggregate import INPUT_COLUMNS, daily_partials, daily_series
from pipelines.workspace import Workspace
from schemas import requests as rq


@dataclass
class Handover:
    requests: list[pl.DataFrame]
    dead_letters: list[pl.DataFrame]
    first_seq: dict[str, int]  # per source, the first segment in this hand-over
    offsets: dict[str, int]  # per source, everything below is in this or an earlier hand-over


def publish(workspace: Workspace, timezone: str, handover: Handover) -> None:
    """Publish one hand-over (synchronously); the caller records its offsets afterwards."""
    requests = pl.concat(handover.requests, how="diagonal_relaxed") if handover.requests else None
    if requests is not None and requests.height:
        for (day,), rows in requests.partition_by(rq.REQUEST_DATE, as_dict=True).items():
            merge_partition(workspace.requests_dataset, day.isoformat(), rows)
    dead = pl.concat(handover.dead_letters, how="diagonal_relaxed") if handover.dead_letters else None
    if dead is not None and dead.height:
        dataset = workspace.dead_letters_dataset
        for (source,), rows in dead.partition_by(rq.SOURCE, as_dict=True).items():
            name = f"landing-{handover.first_seq.get(source, 0):012d}"
            write_atomic(rows.sort(rq.SOURCE_FILE, rq.SOURCE_POSITION).drop(rq.SOURCE).to_arrow()
                         .cast(DEAD_FILE_SCHEMA), dead_letter_path(dataset, source, name), dataset)
    if requests is not None and requests.height:
        partials = [daily_partials(frame, timezone) for frame in published_requests(workspace.requests_dataset, INPUT_COLUMNS)]
        write_request_daily(workspace.request_daily_dataset, [daily_series(pl.concat(partials))] if partials else [])


class DatasetPublisher:
    """Publishes hand-overs in order on one background thread; `close()` waits for the last."""

    def __init__(self, workspace: Workspace, timezone: str, store_path: Path) -> None:
        self.workspace, self.timezone, self.store_path = workspace, timezone, store_path
        self.queue: queue.Queue[Handover | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="urbanpulse-dataset-publisher", daemon=True)
        self.thread.start()

    def submit(self, handover: Handover) -> None:
        if self.error is not None:
            raise RuntimeError("publishing the live datasets failed") from self.error
        self.queue.put(handover)

    def wait(self) -> None:
        """Block until every submitted hand-over is published and its offsets recorded."""
        self.queue.join()
        if self.error is not None:
            raise RuntimeError("publishing the live datasets failed") from self.error

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise RuntimeError("publishing the live datasets failed") from self.error

    def _run(self) -> None:
        store = LiveStore(self.store_path)
        try:
            while (handover := self.queue.get()) is not None:
                try:
                    publish(self.workspace, self.timezone, handover)
                    store.set_offsets(handover.offsets, "dataset_offsets")
                finally:
                    self.queue.task_done()
        except Exception as error:  # surfaced to the stream at its next hand-over
            self.error = error
            while True:  # unblock anyone waiting
                try:
                    self.queue.get_nowait()
                    self.queue.task_done()
                except queue.Empty:
                    break
        finally:
            store.close()
