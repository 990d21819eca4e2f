"""What the live streams of votes and sensors share: one bounded pipeline run and its ledger, and
the watcher that restarts a stream when a log it does not follow appears.

Each stream (`stream_votes`, `stream_sensors`) builds its own Beam pipeline over its own landing
logs; running it, reading back what it committed (records in, dead letters, records its
committing reader wrote) and the offsets it reached is the same for both.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipelines.stopping import RESTART, STOP, drain_and_restart
from pipelines.stream_requests import NewSourceWatcher
from plumbing.live_store.reader import LiveStoreReader
from schemas import ledger


def run_live_pipeline(build: Callable[[beam.Pipeline], None], beam_args: list[str], reader: str,
                      store_path: Path) -> tuple[dict[str, int], dict[str, int], float]:
    """Run the pipeline `build` wires, to its end: (ledger counters, committed offsets, seconds)."""
    started = datetime.now(UTC)
    pipeline = beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(beam_args))
    build(pipeline)
    result = pipeline.run()
    result.wait_until_finish()
    committed = ledger.committed_records(reader)
    found = dict.fromkeys((ledger.RECORDS_IN, ledger.DEAD_LETTERS, committed), 0)
    for counter in result.metrics().query(MetricsFilter().with_namespace(ledger.METRICS_NAMESPACE))["counters"]:
        if counter.key.metric.name in found:
            found[counter.key.metric.name] += counter.committed
    counters = {ledger.RECORDS_IN: found[ledger.RECORDS_IN], ledger.DEAD_LETTERS: found[ledger.DEAD_LETTERS],
                ledger.RECORDS_OUT: found[committed]}
    store = LiveStoreReader.open(store_path)
    offsets = store.offsets(reader)
    store.close()
    return counters, offsets, (datetime.now(UTC) - started).total_seconds()


class NewLogWatcher(NewSourceWatcher):
    """Drains and restarts a stream when one of its logs appears (a vote opened, a sensor source
    landed) that it does not follow yet; `settings.source_names(required=False)` lists them."""

    def __init__(self, settings, followed: list[str], every_seconds: float = 1.0) -> None:
        super().__init__(settings, followed, every_seconds)
        self.settings = settings

    def _watch(self) -> None:
        while not self.done.wait(self.every_seconds) and not STOP.is_set():
            if set(self.settings.source_names(required=False)) - self.followed:
                drain_and_restart()
                return


def follow(settings, holding, reader: str, run_once, beside=nullcontext) -> list:
    """Run `run_once(sources, start offsets)` on the stream's logs until SIGINT/SIGTERM (or
    `STOP.set()`), holding the store (`holding(settings)`) and whatever `beside()` gives for each
    run; a new log drains the run and starts the next one. The runs' reports, in order."""
    STOP.clear()
    RESTART.clear()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, lambda *_: STOP.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    reports = []
    try:
        while True:
            sources = settings.source_names()
            with holding(settings) as store, NewLogWatcher(settings, sources), beside():
                start = store.offsets(reader)
                reports.append(run_once(sources, {s: start.get(s, 0) for s in sources}))
            if not RESTART.is_set():
                return reports
            RESTART.clear()
            STOP.clear()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

def catch_up_range(committed: dict[str, int], ends: dict[str, int],
                   from_seq: int | None) -> tuple[dict[str, int], dict[str, int]]:
    """(start, end) segment numbers of a catch-up run: from the committed offsets (or `from_seq`)
    to the logs' current ends, never ending before it starts."""
    start = {s: committed.get(s, 0) if from_seq is None else from_seq for s in ends}
    return start, {s: max(ends[s], start[s]) for s in ends}
