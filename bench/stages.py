"""Per-stage throughput: each step's vectorised function over the feed, outside Beam.

The feed is read in the pipeline's 100k-row batches and every stage runs on the previous stage's
output, batch by batch, exactly as the Beam DoFns call it (setup such as loading the model or the
geocoder grid is left out, as a DoFn's `setup` is). Deduplication, publishing and aggregation
work per request date over all batches, as the pipeline groups them. Each stage is repeated and
its median time kept; rows per second count the rows going into the stage.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import polars as pl

from models.cities.pack import CityPack
from models.cities.routing import route
from models.classification.request_classifier import load_request_classifier
from models.duplicates import deduplicate
from models.geocoding.address_spans import AddressSpanFinder
from models.geocoding.forward import ForwardGeocoder
from models.geocoding.reverse import ReverseGeocoder
from pipelines.sinks.requests.dataset import merge_partitions
from pipelines.sources.requests import read_raw_batches
from pipelines.transforms.requests.aggregate import daily_partials, daily_series
from pipelines.transforms.requests.geocode import geocode_frame
from pipelines.transforms.requests.normalise import normalise_frame
from pipelines.transforms.requests.scrub import scrub_frame
from pipelines.transforms.requests.sla import sla_frame
from pipelines.transforms.requests.validate import to_frame, validate_frame
from schemas import requests as rq

T = TypeVar("T")


@dataclass(frozen=True)
class StageThroughput:
    name: str
    rows: int
    seconds: list[float]

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.median_seconds if self.median_seconds else float("inf")


def _timed(
    work: Callable[[], T], repeat: int, reset: Callable[[], None] | None = None
) -> tuple[T, list[float]]:
    """Run `work` `repeat` times (after `reset`, untimed); its last result and every duration."""
    seconds: list[float] = []
    result = None
    for _ in range(repeat):
        if reset:
            reset()
        started = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - started)
    return result, seconds


def _rows(frames: list) -> int:
    return sum(frame.num_rows if hasattr(frame, "num_rows") else frame.height for frame in frames)


def by_request_date(frames: list[pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Batches regrouped per partition date, as GroupByRequestDate hands them to the dedup step."""
    parts: dict[str, list[pl.DataFrame]] = defaultdict(list)
    for frame in frames:
        for (day,), part in frame.partition_by(rq.REQUEST_DATE, as_dict=True).items():
            parts[day.isoformat()].append(part)
    return {day: pl.concat(group, how="vertical_relaxed") for day, group in parts.items()}


class StageBench:
    """Feeds each stage the previous stage's output and records its throughput."""

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.results: list[StageThroughput] = []

    def per_batch(self, name: str, frames: list, step: Callable) -> list:
        outputs, seconds = _timed(lambda: [step(frame) for frame in frames], self.repeat)
        self.results.append(StageThroughput(name, _rows(frames), seconds))
        return outputs

    def whole(
        self,
        name: str,
        work: Callable[[], T],
        rows: int | None = None,
        reset: Callable[[], None] | None = None,
    ) -> T:
        """A stage over all rows at once; `rows` None counts the rows it produced (a reader)."""
        output, seconds = _timed(work, self.repeat, reset)
        self.results.append(StageThroughput(name, _rows(output) if rows is None else rows, seconds))
        return output


def _enrich(bench: StageBench, feed: Path, pack: CityPack, model_dir: Path | None) -> list:
    """read -> validate -> normalise -> classify -> geocode -> sla -> scrub, batch by batch."""
    now = datetime.now(UTC)
    classifier = load_request_classifier(model_dir)
    geocoder = ReverseGeocoder(pack)
    forward = ForwardGeocoder.from_pack(pack)
    spans = AddressSpanFinder() if forward is not None else None
    raw = bench.whole("read", lambda: list(read_raw_batches(feed, "csv")))
    frames = bench.per_batch("validate", raw, lambda b: validate_frame(to_frame(b), now)[0])
    del raw
    frames = bench.per_batch("normalise", frames, lambda f: normalise_frame(f, pack.timezone, now))
    frames = bench.per_batch(
        "classify", frames, lambda f: route(f.hstack(classifier.predict_batch(f)), pack.taxonomy)
    )
    frames = bench.per_batch(
        "geocode", frames, lambda f: geocode_frame(f, geocoder, forward, spans)
    )
    frames = bench.per_batch("sla", frames, sla_frame)
    return bench.per_batch("scrub", frames, scrub_frame)


def _publish(bench: StageBench, frames: list, pack: CityPack, scratch: Path) -> None:
    """Per request date: dedup alone, then the sink's merge (dedup + Parquet write), then the
    daily aggregates (additive partials per published partition, reduced to daily series)."""
    by_date = by_request_date(frames)
    rows = _rows(list(by_date.values()))
    bench.whole("dedup", lambda: [deduplicate(part) for part in by_date.values()], rows=rows)
    dataset = scratch / "requests"
    published = bench.whole(
        "merge+publish",
        lambda: [merge_partitions(dataset, part)[0] for part in by_date.values()],
        rows=rows,
        reset=lambda: shutil.rmtree(dataset, ignore_errors=True),
    )
    rows = sum(frame.height for frame in published)
    bench.whole(
        "aggregate",
        lambda: daily_series(pl.concat([daily_partials(f, pack.timezone) for f in published])),
        rows=rows,
    )


def measure_stages(
    feed: Path, pack: CityPack, model_dir: Path | None, scratch: Path, repeat: int
) -> list[StageThroughput]:
    bench = StageBench(repeat)
    frames = _enrich(bench, feed, pack, model_dir)
    _publish(bench, frames, pack, scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    return bench.results
