"""Steps that report a run's progress (`plumbing.progress`) from inside the pipeline.

They hang off the main path as side branches, so the data never waits for them; the runner
fuses them with the step whose output they count, so a report follows each element as it is
produced.
"""

from __future__ import annotations

import apache_beam as beam
import polars as pl

from plumbing.progress import PUBLISHING, RunProgress
from schemas import requests as rq


class _CountDone(beam.DoFn):
    def __init__(self, progress: RunProgress, stage: str) -> None:
        self.progress, self.stage = progress, stage

    def setup(self) -> None:
        self.writer = self.progress.writer(self.stage)

    def process(self, _element) -> None:
        self.writer.report(done=1)

    def finish_bundle(self) -> None:
        self.writer.flush()


class ReportDone(beam.PTransform):
    """Each element of the input is one unit of `stage` done (a date published, a partition read)."""

    def __init__(self, progress: RunProgress, stage: str) -> None:
        super().__init__()
        self.progress, self.stage = progress, stage

    def expand(self, elements):
        return elements | "CountDone" >> beam.ParDo(_CountDone(self.progress, self.stage))


class _CountMonths(beam.DoFn):
    """Fused with the enrich steps, so the total is known when publishing starts (the merge
    publishes a month at a time); several workers each count their own months, and the reader
    takes the largest count."""

    def __init__(self, progress: RunProgress) -> None:
        self.progress = progress

    def setup(self) -> None:
        self.writer = self.progress.writer(PUBLISHING)
        self.months: set = set()

    def process(self, frame: pl.DataFrame) -> None:
        self.months.update(frame.get_column(rq.REQUEST_PARTITION).dt.strftime("%Y-%m").unique().to_list())
        self.writer.report(total=len(self.months))

    def finish_bundle(self) -> None:
        self.writer.flush()


class ReportMonthsToPublish(beam.PTransform):
    """Enriched request batches in: the number of months the merge will publish."""

    def __init__(self, progress: RunProgress) -> None:
        super().__init__()
        self.progress = progress

    def expand(self, frames):
        return frames | "CountMonths" >> beam.ParDo(_CountMonths(self.progress))
