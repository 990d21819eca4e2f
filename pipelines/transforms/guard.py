"""One bad record never fails its batch: a step after validation that raises on some rows
carries those rows on, marked, and enriches the rest.

Validation already sent every record it could not read to the dead letters, so a step that
raises here has met a record it did not expect (or has a bug). `enrich_guarded` runs the step
on the whole frame; only if that raises does it bisect the frame to find the rows the step
fails on alone, and marks them (`schemas.dead_letters.ENRICH_FAILED_STEP` / `_ERROR`: the step
and the error). Later steps skip marked rows; the sinks turn them into `enrich_failed` dead
letters (`plumbing.dead_letters.split_enrich_failures`), so records in = out + dead letters still
holds. A step that fails on more than `MAX_FAILED_PER_BATCH` records of one batch is broken, not
fed bad records: that stops the run with the first error, as before.

Written by hand because Beam's `with_exception_handling` works per element, and an element
here is a batch of up to 100,000 records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics

from plumbing.dead_letters import split_enrich_failures
from schemas import dead_letters as dl
from schemas import ledger

MAX_FAILED_PER_BATCH = 100
ENRICHED, FAILED = "enriched", "failed"
_MARKS = (dl.ENRICH_FAILED_STEP, dl.ENRICH_FAILED_ERROR)


class EnrichStepBroken(RuntimeError):
    """A step raised on so many records of one batch that the step, not the input, is at fault."""


def enrich_guarded(step: str, enrich: Callable[[pl.DataFrame], pl.DataFrame], frame: pl.DataFrame) -> pl.DataFrame:
    """`enrich(frame)`, with the rows `enrich` raises on carried on unenriched and marked."""
    carried: list[pl.DataFrame] = []
    if dl.ENRICH_FAILED_STEP in frame.columns:  # an earlier step marked some rows: skip them
        marked = pl.col(dl.ENRICH_FAILED_STEP).is_not_null()
        carried, frame = [frame.filter(marked)], frame.filter(~marked).drop(_MARKS)
        if frame.height == 0:
            return carried[0]
    enriched: list[pl.DataFrame] = []
    failures: list[tuple[pl.DataFrame, str]] = []
    _bisect(step, enrich, frame, enriched, failures)
    if not failures and not carried:
        return enriched[0]
    marked_rows = [
        rows.with_columns(pl.lit(step).alias(dl.ENRICH_FAILED_STEP), pl.lit(error).alias(dl.ENRICH_FAILED_ERROR))
        for rows, error in failures
    ]
    return pl.concat(enriched + carried + marked_rows, how="diagonal_relaxed")


def _bisect(step: str, enrich, frame: pl.DataFrame, enriched: list, failures: list) -> None:
    """Enrich `frame` in halves until every failing row stands alone (depth first, so a broken
    step is recognised after about `MAX_FAILED_PER_BATCH` small calls, not one per row)."""
    try:
        enriched.append(enrich(frame))
        return
    except Exception as error:  # recorded on the row, or raised when too many
        if frame.height > 1:
            half = frame.height // 2
            _bisect(step, enrich, frame.slice(0, half), enriched, failures)
            _bisect(step, enrich, frame.slice(half), enriched, failures)
            return
        failures.append((frame, f"{type(error).__name__}: {error}"))
        if len(failures) > MAX_FAILED_PER_BATCH:
            raise EnrichStepBroken(
                f"step {step!r} failed on more than {MAX_FAILED_PER_BATCH} records of one batch "
                f"(first: {failures[0][1]}); this is a broken step or city pack, not bad input: "
                "fix it and run again"
            ) from error


class _SplitFailures(beam.DoFn):
    def __init__(self) -> None:
        self.failed = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.ENRICH_FAILED)

    def process(self, frame: pl.DataFrame):
        enriched, dead = split_enrich_failures(frame, datetime.now(UTC))
        if dead.height:
            self.failed.inc(dead.height)
            yield beam.pvalue.TaggedOutput(FAILED, dead)
        if enriched.height:
            yield enriched


class SplitEnrichFailures(beam.PTransform):
    """Enriched frames in; `.enriched` (rows every step enriched) and `.failed` (dead letters
    `enrich_failed`, stage = the step) out. The live path's committing step does the same split
    inside its transaction (`plumbing.dead_letters.split_enrich_failures`)."""

    def expand(self, frames):
        return frames | "SplitFailedRows" >> beam.ParDo(_SplitFailures()).with_output_types(pl.DataFrame).with_outputs(
            FAILED, main=ENRICHED
        )
