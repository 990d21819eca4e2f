"""Read back UrbanPulse's own published request dataset (for aggregates over the whole history)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from pipelines.sinks.datasets import PART_FILE, PARTITION_SCHEMA
from schemas import requests as rq


def published_partitions(dataset: Path) -> list[Path]:
    return sorted(dataset.glob(f"{rq.REQUEST_PARTITION}=*/{PART_FILE}"))


def read_partition(path: Path) -> pl.DataFrame:
    day = date.fromisoformat(path.parent.name.split("=", 1)[1])
    frame = pl.from_arrow(pq.read_table(path, schema=PARTITION_SCHEMA))
    return frame.with_columns(pl.lit(day).alias(rq.REQUEST_DATE))


def read_published_requests(dataset: Path) -> Iterator[pl.DataFrame]:
    for path in published_partitions(dataset):
        yield read_partition(path)
