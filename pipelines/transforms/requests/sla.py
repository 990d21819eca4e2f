"""ComputeSla: due time from the taxonomy's SLA days, hours to close, and the on-time flag.

A close time before the request time is a data error of the source (NYC has them): such rows
keep their timestamps, but get no hours-to-close and no SLA outcome rather than a negative one.
"""

from __future__ import annotations

import apache_beam as beam
import polars as pl

from pipelines.transforms.guard import enrich_guarded
from schemas import requests as rq

STEP = "sla"  # the dead-letter stage of records this step cannot enrich

MICROSECONDS_PER_DAY = 86_400_000_000
MICROSECONDS_PER_HOUR = 3_600_000_000


def sla_frame(frame: pl.DataFrame) -> pl.DataFrame:
    due = pl.col(rq.REQUESTED_DATETIME) + pl.duration(
        microseconds=(pl.col(rq.SLA_DAYS) * MICROSECONDS_PER_DAY).cast(pl.Int64)
    )
    closed = pl.col(rq.CLOSED_DATETIME)
    plausible_close = closed.is_not_null() & (closed >= pl.col(rq.REQUESTED_DATETIME))
    return frame.with_columns(due.alias(rq.SLA_DUE_DATETIME)).with_columns(
        pl.when(plausible_close)
        .then((closed - pl.col(rq.REQUESTED_DATETIME)).dt.total_microseconds() / MICROSECONDS_PER_HOUR)
        .alias(rq.HOURS_TO_CLOSE),
        pl.when(plausible_close).then(closed <= pl.col(rq.SLA_DUE_DATETIME)).alias(rq.CLOSED_WITHIN_SLA),
    )


class ComputeSla(beam.PTransform):
    """Routed batches in (they carry `sla_days`), batches with SLA columns out."""

    def expand(self, frames):
        return frames | "ComputeSlaColumns" >> beam.Map(
            lambda frame: enrich_guarded(STEP, sla_frame, frame)
        ).with_output_types(pl.DataFrame)
