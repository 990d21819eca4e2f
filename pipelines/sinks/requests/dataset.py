"""MergeRequestsIntoDataset: upsert enriched requests into the hive-partitioned request dataset.

Batches are split by partition date and staged as Arrow files; only (date, file) pairs travel
through the shuffle, so memory stays one batch deep however large the input. Each date is then
merged once with the published partition (latest version per id wins, repeated reports linked:
`models.duplicates.deduplicate`) and published atomically. Ingesting the same input twice, or
re-running after a crash, therefore leaves exactly one row per request.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import date
from pathlib import Path

import apache_beam as beam
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics import Metrics

from models.duplicates import deduplicate
from plumbing.atomic import PART_FILE, staging_dir, write_atomic
from schemas import ledger
from schemas import requests as rq

PARTITION_SCHEMA = pa.schema([f for f in rq.ENRICHED_REQUEST if f.name != rq.REQUEST_PARTITION])


def partition_path(dataset: Path, day: str) -> Path:
    return dataset / f"{rq.REQUEST_PARTITION}={day}" / PART_FILE


def published_partitions(dataset: Path) -> list[Path]:
    return sorted(dataset.glob(f"{rq.REQUEST_PARTITION}=*/{PART_FILE}"))


def read_partition(path: Path, columns: list[str] | None = None) -> pl.DataFrame:
    """A published partition with its hive date column restored."""
    day = date.fromisoformat(path.parent.name.split("=", 1)[1])
    table = pq.read_table(path, schema=PARTITION_SCHEMA, columns=columns)
    return pl.from_arrow(table).with_columns(pl.lit(day).alias(rq.REQUEST_PARTITION))


def published_requests(dataset: Path, columns: list[str] | None = None):
    """Every published partition, one frame each (date column restored)."""
    for path in published_partitions(dataset):
        yield read_partition(path, columns)


def merge_partition(dataset: Path, day: str, incoming: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Union with the published partition, deduplicate, publish; (merged rows, rows before)."""
    target = partition_path(dataset, day)
    frames = [incoming]
    if target.exists():
        frames.insert(0, read_partition(target))
    before = sum(frame.height for frame in frames)
    # diagonal: `duplicate_of` only exists on published rows; deduplicate recomputes it for all
    merged = deduplicate(pl.concat(frames, how="diagonal_relaxed"))
    write_atomic(merged.drop(rq.REQUEST_PARTITION).to_arrow().cast(PARTITION_SCHEMA), target, dataset)
    return merged, before


class _StageByDate(beam.DoFn):
    def __init__(self, staging: str) -> None:
        self.staging = staging
        self.out = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_OUT)

    def process(self, frame: pl.DataFrame):
        self.out.inc(frame.height)
        for (day,), part in frame.partition_by(rq.REQUEST_PARTITION, as_dict=True).items():
            fragment = Path(self.staging) / day.isoformat() / f"{uuid.uuid4().hex}.arrow"
            fragment.parent.mkdir(parents=True, exist_ok=True)
            part.write_ipc(fragment)
            yield day.isoformat(), str(fragment)


class _PublishPartition(beam.DoFn):
    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self.rows = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.REQUEST_ROWS_PUBLISHED)
        self.superseded = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.VERSIONS_SUPERSEDED)

    def process(self, keyed):
        day, fragments = keyed
        fragments = sorted(fragments)
        incoming = pl.concat([pl.read_ipc(f) for f in fragments])
        merged, before = merge_partition(Path(self.dataset), day, incoming)
        for fragment in fragments:
            Path(fragment).unlink(missing_ok=True)
        self.rows.inc(merged.height)
        self.superseded.inc(before - merged.height)
        yield day


class MergeRequestsIntoDataset(beam.PTransform):
    """Enriched request batches in; the published partition dates out.

    Counts `records_out` (valid records delivered), `versions_superseded` (rows that an other
    version of the same id replaced, in this run or from an earlier one) and
    `request_rows_published` (rows of the touched partitions after the merge).
    """

    def __init__(self, dataset: Path, run_id: str) -> None:
        super().__init__()
        self.dataset = str(dataset)
        self.staging = str(staging_dir(Path(dataset)) / f"requests-{run_id}")

    def expand(self, frames):
        return (
            frames
            | "StageByPartitionDate" >> beam.ParDo(_StageByDate(self.staging))
            | "GroupFragmentsByDate" >> beam.GroupByKey()
            | "MergeAndPublish" >> beam.ParDo(_PublishPartition(self.dataset))
        )


def remove_staging(dataset: Path, run_id: str) -> None:
    shutil.rmtree(staging_dir(dataset) / f"requests-{run_id}", ignore_errors=True)
