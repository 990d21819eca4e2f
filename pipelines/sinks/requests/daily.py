"""WriteRequestDaily: a city's whole request_daily table, replaced as one Parquet file in its transaction."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import polars as pl

from plumbing.atomic import PART_FILE, write_atomic
from schemas import aggregates as ag
from schemas import requests as rq


def write_request_daily(dataset: Path, frames: list[pl.DataFrame]) -> Path:
    table = (
        pl.concat(frames).sort([ag.DAY, rq.DISTRICT_ID, rq.CATEGORY], nulls_last=True)
        if frames
        else pl.DataFrame(schema=pl.Schema(ag.REQUEST_DAILY))
    )
    target = dataset / PART_FILE
    write_atomic(table.to_arrow().cast(ag.REQUEST_DAILY), target, dataset, sync=False)  # synced at commit
    return target


class WriteRequestDaily(beam.PTransform):
    """request_daily frames in; the published file path out."""

    def __init__(self, dataset: Path) -> None:
        super().__init__()
        self.dataset = str(dataset)

    def expand(self, frames):
        dataset = Path(self.dataset)
        return (
            frames
            | "CollectDailyFrames" >> beam.combiners.ToList()
            | "PublishRequestDaily" >> beam.Map(lambda found: str(write_request_daily(dataset, found)))
        )
