"""The live path's dataset publisher: enriched rows and dead letters into the Parquet datasets.

The windows step hands over everything it kept since the last hand-over (already scrubbed of
personal data by the pipeline's `ScrubPersonalData`), with the offsets up to which that is
complete; a child process merges the rows into the city's request dataset (the batch path's
upsert, `sinks.requests.dataset.merge_partitions`, one date at a time; then one row per id
across dates, reading only the hand-over's ids; then the day after a date whose last hours
changed is relinked, for repeats across midnight), rewrites
the dead-letter files those segments fall in from the live store (one file per source and
`DEAD_LETTER_BUCKET` segments; raw payloads only in the restricted store), recomputes
`request_daily` (from each date file's partials, kept while the file is unchanged), commits all of it as one snapshot (`plumbing.publishing`, holding the city's
lock, so a batch ingest of the city waits for the hand-over or the other way round), and only
then records the publisher's offsets; after that, every `COMPACT_SECONDS`, it lets the live store
forget what the datasets now hold (`plumbing.live_store.retention`). A crash before that makes the next run publish the same
segments again, which the upsert and the rewrite absorb: no row is published twice.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
import uuid
from pathlib import Path

import polars as pl
import pyarrow as pa
from pyarrow import ipc

from pipelines.sinks.dead_letters import write_dead_letter_file
from pipelines.sinks.live_handover import DEAD_LETTER_BUCKET, Handover
from pipelines.sinks.requests.daily import write_request_daily
from pipelines.sinks.requests.dataset import (
    FILES_PER_READ,
    merge_partitions,
    not_followed,
    partition_day,
    published_partitions,
    read_partitions,
    reconcile_request_ids,
    relink_next_days,
)
from pipelines.transforms.requests.aggregate import INPUT_COLUMNS, daily_partials, daily_series
from plumbing.landing import segment_ref
from plumbing.live_store.retention import compact
from plumbing.live_store.writer import LiveStore
from plumbing.published_requests import FileVersion, file_version
from plumbing.publishing import publishing
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import live as lv
from schemas import requests as rq

CHECKPOINT_SECONDS = 1.0
COMPACT_SECONDS = 600.0  # retention runs after a hand-over at most this often
PUBLISHER_NICENESS = 10


class DailyPartialsByFile:
    """The `request_daily` partials of each published date partition, kept across hand-overs.

    A hand-over rewrites the files of the dates it touched and hard-links the others into the
    new snapshot (`plumbing.publishing`), so a file of the `file_version` seen before holds the
    same rows (as for the feed's reader, `plumbing.published_requests`): its partials are reused and only rewritten files are read. The
    aggregate then costs one pass over the partials (a few rows per date, district and
    category), not a read of the whole dataset per hand-over."""

    def __init__(self) -> None:
        self._by_date: dict[str, tuple[FileVersion, pl.DataFrame]] = {}
        self.files_read = 0

    def series(self, dataset: Path, timezone: str) -> pl.DataFrame | None:
        """The dataset's request_daily rows (None when it has no partitions)."""
        kept: dict[str, tuple[FileVersion, pl.DataFrame]] = {}
        stale: list[tuple[str, FileVersion, Path]] = []
        for path in published_partitions(dataset):
            seen = file_version(path)
            cached = self._by_date.get(path.parent.name)
            if cached is not None and cached[0] == seen:
                kept[path.parent.name] = cached
            else:
                stale.append((path.parent.name, seen, path))
        for start in range(0, len(stale), FILES_PER_READ):
            group = stale[start:start + FILES_PER_READ]
            rows = read_partitions([path for _, _, path in group], INPUT_COLUMNS)
            by_day = rows.partition_by(rq.REQUEST_PARTITION, as_dict=True)
            for name, seen, path in group:
                day_rows = by_day.get((partition_day(path),), rows.clear())
                kept[name] = (seen, daily_partials(day_rows, timezone))
            self.files_read += len(group)
        self._by_date = kept
        return daily_series(pl.concat([partials for _, partials in kept.values()])) if kept else None


def publish(workspace: Workspace, city: str, timezone: str, store: LiveStore, handover: Handover,
            partials: DailyPartialsByFile | None = None) -> None:
    """Publish one hand-over (synchronously, in one commit); the caller records its offsets
    afterwards. `partials`: kept by a publisher that publishes many hand-overs."""
    requests = pl.concat(handover.requests, how="diagonal_relaxed") if handover.requests else None
    workspace.make_restricted()
    run_id = f"live-{uuid.uuid4().hex[:12]}"
    with publishing(workspace, city, run_id, "the live dataset publisher") as transaction:
        dataset = transaction.dataset(ds.REQUESTS)
        if requests is not None and requests.height:  # nothing is visible before the commit: any order
            published = transaction.published_files(ds.REQUESTS)
            # one date at a time: closures reach back weeks, so a hand-over touches many dates,
            # and memory then follows the largest of them, not their sum
            merged_days, tails_changed = [], []
            for (day,), rows in sorted(requests.partition_by(rq.REQUEST_PARTITION, as_dict=True).items()):
                tails_changed += merge_partitions(dataset, rows, published).tails_changed
                merged_days.append(day)
            reconciled = reconcile_request_ids(dataset, requests[rq.SERVICE_REQUEST_ID])
            relink_next_days(dataset, sorted({*reconciled.days, *not_followed(tails_changed, merged_days)}))
            daily = (partials or DailyPartialsByFile()).series(dataset, timezone)
            write_request_daily(transaction.dataset(ds.REQUEST_DAILY), [daily] if daily is not None else [])
        for source, bucket in sorted(handover.dead_letter_buckets):
            first = bucket * DEAD_LETTER_BUCKET
            refs = [segment_ref(source, seq) for seq in range(first, first + DEAD_LETTER_BUCKET)]
            dead = store.dead_letter_frame(refs)
            if dead.height:
                write_dead_letter_file(transaction.dataset(ds.DEAD_LETTERS), workspace.restricted_dead_letters(city),
                                       source, f"landing-{first:012d}", dead)


class DatasetPublisher:
    """Publishes hand-overs in order in a child process, so merging Parquet never competes with
    the stream for the interpreter; `wait()` / `close()` wait for them.

    Rows travel as Arrow files under `state/live/handover/`; the child publishes them, records
    the publisher offset and removes the file.
    """

    def __init__(self, workspace: Workspace, city: str, timezone: str, store_path: Path) -> None:
        self.folder = Path(store_path).parent / "handover"
        self.folder.mkdir(parents=True, exist_ok=True)
        context = multiprocessing.get_context("spawn")
        self.jobs, self.results = context.Queue(), context.Queue()
        self.submitted = self.finished = 0
        self.process = context.Process(
            target=_publish_forever, name="urbanpulse-dataset-publisher", daemon=True,
            args=(str(workspace.root), city, timezone, str(store_path), self.jobs, self.results, os.getpid()),
        )
        self.process.start()

    def submit(self, handover: Handover) -> None:
        self._collect(block=False)
        path = None
        if handover.requests:
            path = self.folder / f"{uuid.uuid4().hex}.arrow"
            table = pl.concat(handover.requests, how="diagonal_relaxed").to_arrow()
            with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        self.jobs.put((str(path) if path else None, sorted(handover.dead_letter_buckets), handover.offsets))
        self.submitted += 1

    def wait(self) -> None:
        """Block until every submitted hand-over is published and its offsets recorded."""
        while self.finished < self.submitted:
            self._collect(block=True)

    def close(self) -> None:
        self.wait()
        self.jobs.put(None)
        self.process.join(timeout=60)

    def _collect(self, block: bool) -> None:
        while True:
            try:
                error = self.results.get(block=block, timeout=1 if block else None)
            except queue.Empty:
                if block and not self.process.is_alive():
                    raise RuntimeError("the dataset publisher process died") from None
                return
            self.finished += 1
            if error:
                raise RuntimeError(f"publishing the live datasets failed:\n{error}")
            block = False


def _checkpoint_forever(store_path: str) -> None:
    """Keep the live store's WAL short, so the stream's commits never have to checkpoint."""
    store = LiveStore(Path(store_path))
    while True:
        time.sleep(CHECKPOINT_SECONDS)
        store.checkpoint()


def _publish_forever(home: str, city: str, timezone: str, store_path: str, jobs, results, parent: int) -> None:
    """The publisher process: one hand-over at a time until told to stop or the stream is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the stream decides
    os.nice(PUBLISHER_NICENESS)  # background work: the stream's commits come first
    workspace, store = Workspace(Path(home)), LiveStore(Path(store_path))
    threading.Thread(target=_checkpoint_forever, args=(store_path,), daemon=True).start()
    compact_at = 0.0
    partials = DailyPartialsByFile()
    try:
        while True:
            try:
                job = jobs.get(timeout=1)
            except queue.Empty:
                if os.getppid() != parent:  # the stream was killed: leave the rest to its restart
                    return
                continue
            if job is None:
                return
            path, buckets, offsets = job
            try:
                requests = [pl.read_ipc(path)] if path else []
                publish(workspace, city, timezone, store, Handover(requests, set(map(tuple, buckets)), offsets), partials)
                store.set_offsets(offsets, lv.PUBLISHER)
                if time.monotonic() >= compact_at:  # what the datasets now hold, the store may forget
                    compact(store, DEAD_LETTER_BUCKET)
                    compact_at = time.monotonic() + COMPACT_SECONDS
                if path:
                    Path(path).unlink()
                results.put(None)
            except Exception:  # reported to the stream, which stops with it
                results.put(traceback.format_exc())
    finally:
        store.close()
