"""Parquet datasets in the workspace: atomic, idempotent writes that any Parquet reader can scan.

Every file is written into a staging folder beside the datasets, fsynced, then renamed into
place, so a reader sees either the previous file or the new one, never half of one. The request
dataset is merged partition by partition with what is already published (latest version per id
wins), so ingesting the same input twice, or re-running after a crash, leaves one copy per row.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import apache_beam as beam
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics import Metrics

from pipelines.transforms.dedup import deduplicate
from schemas import aggregates as ag
from schemas import dead_letters as dl
from schemas import requests as rq

STAGING = ".staging"
PART_FILE = "part-0.parquet"
COMPRESSION = "zstd"


def write_atomic(table: pa.Table, target: Path, dataset: Path) -> None:
    """Write `table` to `target` (inside `dataset`) so that no reader ever sees a partial file.

    The staging folder sits beside the dataset folders, on the same file system, so the final
    rename is atomic and no reader scanning a dataset folder ever meets a temporary file.
    """
    staging = dataset.parent / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    temporary = staging / f"{uuid.uuid4().hex}.parquet.tmp"
    pq.write_table(table, temporary, compression=COMPRESSION)
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temporary, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def partition_path(dataset: Path, day: str) -> Path:
    return dataset / f"{rq.REQUEST_PARTITION}={day}" / PART_FILE


PARTITION_SCHEMA = pa.schema([f for f in rq.ENRICHED_REQUEST if f.name != rq.REQUEST_PARTITION])


def merge_partition(dataset: Path, day: str, incoming: pl.DataFrame) -> pl.DataFrame:
    """Union with the published partition, keep the latest version per id, publish atomically."""
    target = partition_path(dataset, day)
    frames = [incoming.select(rq.ENRICHED_REQUEST.names)]
    if target.exists():
        published = pl.from_arrow(pq.read_table(target, schema=PARTITION_SCHEMA))
        frames.insert(0, published.with_columns(pl.lit(incoming[rq.REQUEST_DATE][0]).alias(rq.REQUEST_DATE)))
    merged = deduplicate(pl.concat(frames, how="vertical_relaxed"))
    write_atomic(merged.drop(rq.REQUEST_PARTITION).to_arrow().cast(PARTITION_SCHEMA), target, dataset)
    return merged


class _WritePartition(beam.DoFn):
    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self.rows = Metrics.counter("urbanpulse", "request_rows_published")

    def process(self, keyed):
        day, frame = keyed
        merged = merge_partition(Path(self.dataset), day, frame)
        self.rows.inc(merged.height)
        yield day


class WriteRequestPartitions(beam.PTransform):
    """(date, frame) pairs in; the published partition dates out."""

    def __init__(self, dataset: Path) -> None:
        super().__init__()
        self.dataset = str(dataset)

    def expand(self, keyed_frames):
        return keyed_frames | "MergeAndPublishPartitions" >> beam.ParDo(_WritePartition(self.dataset))


class _CountOut(beam.DoFn):
    """Counts valid records on their way to the request sink (before versions are merged)."""

    def __init__(self) -> None:
        self.out = Metrics.counter("urbanpulse", "records_out")

    def process(self, frame: pl.DataFrame):
        self.out.inc(frame.height)
        yield frame


class CountRecordsOut(beam.PTransform):
    def expand(self, frames):
        return frames | "CountRecordsOut" >> beam.ParDo(_CountOut())


# ------------------------------------------------------------------------------ dead letters
def dead_letter_path(dataset: Path, source: str, input_id: str) -> Path:
    return dataset / f"{rq.SOURCE}={source}" / f"{input_id}.parquet"


class _WriteDeadLetters(beam.DoFn):
    def __init__(self, dataset: str, input_ids: dict[str, str]) -> None:
        self.dataset = dataset
        self.input_ids = input_ids
        self.dead = Metrics.counter("urbanpulse", "dead_letters")

    def process(self, keyed):
        (source, source_file), frames = keyed
        frame = pl.concat(list(frames)).sort(rq.SOURCE_POSITION)
        target = dead_letter_path(Path(self.dataset), source, self.input_ids[source_file])
        write_atomic(frame.drop(rq.SOURCE).to_arrow().cast(_DEAD_FILE_SCHEMA), target, Path(self.dataset))
        self.dead.inc(frame.height)
        yield str(target)


_DEAD_FILE_SCHEMA = pa.schema([f for f in dl.DEAD_LETTER if f.name != rq.SOURCE])


class WriteDeadLetters(beam.PTransform):
    """Dead-letter frames in; one file per source and input file (named by its content hash).

    Re-ingesting the same file rewrites the same file, so dead letters are never counted twice.
    """

    def __init__(self, dataset: Path, input_ids: dict[str, str]) -> None:
        super().__init__()
        self.dataset = str(dataset)
        self.input_ids = input_ids

    def expand(self, dead_frames):
        def by_input(frame: pl.DataFrame):
            for (source, source_file), part in frame.partition_by(
                [rq.SOURCE, rq.SOURCE_FILE], as_dict=True
            ).items():
                yield (source, source_file), part

        return (
            dead_frames
            | "KeyByInputFile" >> beam.FlatMap(by_input)
            | "GroupByInputFile" >> beam.GroupByKey()
            | "PublishDeadLetters" >> beam.ParDo(_WriteDeadLetters(self.dataset, self.input_ids))
        )


# ------------------------------------------------------------------------------ request_daily
def write_request_daily(dataset: Path, frames: list[pl.DataFrame]) -> Path:
    table = (
        pl.concat(frames).sort([ag.DAY, rq.DISTRICT_ID, rq.CATEGORY], nulls_last=True)
        if frames
        else pl.DataFrame(schema=pl.Schema(ag.REQUEST_DAILY))
    )
    target = dataset / PART_FILE
    write_atomic(table.to_arrow().cast(ag.REQUEST_DAILY), target, dataset)
    return target


class WriteRequestDaily(beam.PTransform):
    """request_daily frames in; the whole table replaced atomically as one file."""

    def __init__(self, dataset: Path) -> None:
        super().__init__()
        self.dataset = str(dataset)

    def expand(self, frames):
        dataset = self.dataset
        return (
            frames
            | "CollectDailyFrames" >> beam.combiners.ToList()
            | "PublishRequestDaily" >> beam.Map(lambda fs: str(write_request_daily(Path(dataset), fs)))
        )
