"""Live pipeline: landing segments -> the batch composites -> event-time windows in the live store.

    landing log (per source) -> ReadLandingSegments (splittable, runs until stopped)
      -> ValidateRequests -> NormaliseRequests -> ClassifyRequests -> GeocodeRequests -> ComputeSla
      -> CommitToLiveStore (request states, windows, dead letters, offsets: one transaction)
      -> ScrubPersonalData (the batch path's composites, all of them) -> HandOverToPublisher
         -> dataset publisher (a child process: datasets/requests, dead_letters, request_daily)
                                                                   -> CommitOpen311Views (GET requests)
    the inbox watcher (a thread beside the pipeline) lands files dropped into the sources' inboxes

All steps are fused into one stage on `FnApiRunner`, so a segment is committed as soon as it is
read. `replay` runs the same pipeline over a fixed range of the log and ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Self

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from models.cities.pack import CityPack
from models.classification.request_classifier import default_model_dir
from pipelines.land_requests import InboxWatcher
from pipelines.publish_live import DatasetPublisher
from pipelines.sinks.live_handover import HandOverToPublisher
from pipelines.sinks.live_store import CommitToLiveStore
from pipelines.sinks.open311_views import CommitOpen311Views
from pipelines.sources.landing import ReadLandingSegments
from pipelines.stopping import RESTART, STOP, drain_and_restart
from pipelines.transforms.requests.classify import ClassifyRequests
from pipelines.transforms.requests.geocode import GeocodeRequests
from pipelines.transforms.requests.normalise import NormaliseRequests
from pipelines.transforms.requests.scrub import ScrubPersonalData
from pipelines.transforms.requests.sla import ComputeSla
from pipelines.transforms.requests.validate import DEAD, ValidateRequests
from plumbing.landing import LandingLog
from plumbing.live_store.reader import LiveStoreReader
from plumbing.live_store.retention import DEFAULT_RETENTION
from plumbing.live_store.writer import LiveStore, writing_store
from plumbing.workspace import Workspace
from schemas import ledger
from schemas import live as lv
from schemas.live import DEFAULT_ALLOWED_LATENESS

HANDOVER_SECONDS = 30.0


@dataclass
class LiveSettings:
    workspace: Workspace
    city: str
    sources: list[str] | None = None  # None: every source in the landing log
    lateness: timedelta = DEFAULT_ALLOWED_LATENESS
    handover_seconds: float = HANDOVER_SECONDS
    model: Path | None = None
    beam_args: list[str] = field(default_factory=list)
    retention: timedelta = DEFAULT_RETENTION  # what the live store keeps (`plumbing.live_store.retention`)

    @cached_property
    def pack(self) -> CityPack:
        return CityPack.load(self.workspace.city(self.city))

    @property
    def store_path(self) -> Path:
        return self.workspace.live_store(self.city)

    @property
    def landing(self) -> Path:
        """The city's landing logs: the only ones its stream reads."""
        return self.workspace.landing(self.city)

    def source_names(self) -> list[str]:
        names = self.sources or LandingLog.sources(self.landing)
        if not names:
            raise ValueError(f"no landing sources of city {self.city!r} under {self.landing / 'requests'}; "
                             f"land some records first: urbanpulse land requests FILE --city {self.city} --source NAME")
        return names


@dataclass
class LiveReport:
    city: str
    sources: list[str]
    counters: dict[str, int]
    offsets: dict[str, int]
    seconds: float


def build_live_pipeline(pipeline: beam.Pipeline, settings: LiveSettings, pack: CityPack,
                        start: dict[str, int], end: dict[str, int] | None) -> None:
    model_dir = settings.model or default_model_dir(settings.workspace, settings.city)
    raw = (
        pipeline
        | "Sources" >> beam.Create(settings.source_names())
        | "ReadLandingSegments" >> ReadLandingSegments(settings.landing, start, end)
    )
    validated = raw | "ValidateRequests" >> ValidateRequests()
    enriched = (
        validated.valid
        | "NormaliseRequests" >> NormaliseRequests(pack.timezone)
        | "ClassifyRequests" >> ClassifyRequests(pack.root, model_dir)
        | "GeocodeRequests" >> GeocodeRequests(pack.root)
        | "ComputeSla" >> ComputeSla()
    )
    committed = (enriched, validated[DEAD]) | "CommitToLiveStore" >> CommitToLiveStore(
        settings.landing, settings.store_path, pack.timezone, settings.lateness,
    )
    # after the commit, so scrubbing never delays the feed's windows; the Open311 view keeps scrubbed texts
    scrubbed = committed | "ScrubPersonalData" >> ScrubPersonalData(public=pack.public_contacts())
    _ = scrubbed | "CommitOpen311Views" >> CommitOpen311Views(settings.store_path)
    _ = (
        scrubbed
        | "HandOverToPublisher" >> HandOverToPublisher(
            settings.workspace.root, settings.city, settings.store_path, pack.timezone, settings.handover_seconds,
            bounded=end is not None, publisher=DatasetPublisher,
        )
    )


@contextmanager
def holding_store(settings: LiveSettings, fresh: bool = False) -> Iterator[LiveStore]:
    """The live store, opened for writing by this city's request stream (or replay) only."""
    busy = f"a stream or replay of city {settings.city!r} is already running ({settings.store_path})"
    with writing_store(settings.store_path, ".lock", busy, fresh) as store:
        store.set_meta(**{"city": settings.city, "timezone": settings.pack.timezone,
                          lv.LATENESS_SECONDS: str(int(settings.lateness.total_seconds())),
                          lv.RETENTION_SECONDS: str(int(settings.retention.total_seconds()))})
        yield store


def _run(settings: LiveSettings, start: dict[str, int], end: dict[str, int] | None) -> LiveReport:
    started = datetime.now(UTC)
    pipeline = beam.Pipeline(runner=FnApiRunner(), options=beam.options.pipeline_options.PipelineOptions(
        settings.beam_args))
    build_live_pipeline(pipeline, settings, settings.pack, start, end)
    result = pipeline.run()
    result.wait_until_finish()
    kept, invalid = (ledger.committed_records(r) for r in (lv.WINDOWS_READER, lv.DEAD_LETTERS_READER))
    found = dict.fromkeys((kept, invalid, ledger.TOO_LATE, ledger.ENRICH_FAILED), 0)
    for counter in result.metrics().query(MetricsFilter().with_namespace(ledger.METRICS_NAMESPACE))["counters"]:
        if counter.key.metric.name in found:
            found[counter.key.metric.name] += counter.committed
    counters = {
        ledger.RECORDS_OUT: found[kept], ledger.TOO_LATE: found[ledger.TOO_LATE],
        ledger.ENRICH_FAILED: found[ledger.ENRICH_FAILED],
        ledger.DEAD_LETTERS: found[invalid] + found[ledger.TOO_LATE] + found[ledger.ENRICH_FAILED],
    }
    counters[ledger.RECORDS_IN] = counters[ledger.RECORDS_OUT] + counters[ledger.DEAD_LETTERS]
    reader = LiveStoreReader.open(settings.store_path)
    offsets = reader.offsets()
    reader.close()
    return LiveReport(settings.city, settings.source_names(), counters, offsets,
                      (datetime.now(UTC) - started).total_seconds())


def stream(settings: LiveSettings) -> LiveReport:
    """Follow the landing log until SIGINT/SIGTERM (or `STOP.set()`); then drain and return.

    Without a fixed list of sources, a source that lands after the start is picked up: the
    pipeline drains and starts again with it (`NewSourceWatcher`)."""
    STOP.clear()
    RESTART.clear()
    previous = {}
    if threading.current_thread() is threading.main_thread():  # signals can only be caught there
        previous = {sig: signal.signal(sig, lambda *_: STOP.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    reports: list[LiveReport] = []
    try:
        while True:
            sources = settings.source_names()
            with (holding_store(settings) as store, InboxWatcher(settings.landing, sources, STOP),
                  NewSourceWatcher(settings, sources)):
                reports.append(_run(settings, {s: store.resume_at(s) for s in sources}, None))
            if not RESTART.is_set():
                return combined_report(reports)
            RESTART.clear()
            STOP.clear()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class NewSourceWatcher:
    """Asks the stream to drain and restart when a landing source appears that it does not follow
    (only when the stream follows every source, i.e. no `--source` was given)."""

    def __init__(self, settings: LiveSettings, followed: list[str], every_seconds: float = 1.0) -> None:
        self.landing, self.followed, self.every_seconds = settings.landing, set(followed), every_seconds
        self.enabled = settings.sources is None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="urbanpulse-sources", daemon=True)

    def __enter__(self) -> Self:
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.done.set()
        if self.enabled:
            self.thread.join()

    def _watch(self) -> None:
        while not self.done.wait(self.every_seconds) and not STOP.is_set():
            if set(LandingLog.sources(self.landing)) - self.followed:
                drain_and_restart()
                return


def combined_report(reports: list[LiveReport]) -> LiveReport:
    """One report over the runs of a stream that restarted for new sources."""
    last = reports[-1]
    counters = {name: sum(r.counters.get(name, 0) for r in reports) for name in last.counters}
    return LiveReport(last.city, last.sources, counters, last.offsets, sum(r.seconds for r in reports))


def replay(settings: LiveSettings, from_seq: int | None = None, since: datetime | None = None,
           rebuild: bool = False) -> LiveReport:
    """Apply the landing log again from a sequence number or landing time up to its current end.

    Versions already applied are applied again (same version key), so aggregates come out as
    a live run over the same log gives them; with `rebuild`, the live store starts empty.
    """
    sources = settings.source_names()
    logs = {s: LandingLog(settings.landing, s) for s in sources}
    first = {s: (log.first_landed_since(since) if since else (from_seq or 0)) for s, log in logs.items()}
    end = {s: log.end() for s, log in logs.items()}
    with holding_store(settings, fresh=rebuild) as store:
        for reader in lv.READERS:
            committed = store.offsets(reader)
            store.set_offsets({s: min(committed.get(s, 0), first[s]) for s in sources}, reader)
        return _run(settings, first, end)
