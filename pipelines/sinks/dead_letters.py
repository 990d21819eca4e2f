"""WriteDeadLetters: one Parquet file per source and input file, named by the input's content hash.

Re-ingesting the same bytes rewrites the same file, so a dead letter is never counted twice.
Each file is written twice: into the published `dead_letters` dataset without the raw payload
(the record as the source gave it, names and phone numbers included), and with it into the
restricted store (`Workspace.restricted_dead_letters`, owner-only, never under `datasets/`),
where reprocessing reads it.
"""

from __future__ import annotations

import os
from pathlib import Path

import apache_beam as beam
import polars as pl
import pyarrow as pa
from apache_beam.metrics import Metrics

from plumbing.atomic import write_atomic
from plumbing.paths import partition_value
from schemas import dead_letters as dl
from schemas import ledger
from schemas import requests as rq

RESTRICTED_FILE_SCHEMA = pa.schema([f for f in dl.DEAD_LETTER if f.name != rq.SOURCE])
DEAD_FILE_SCHEMA = pa.schema([f for f in RESTRICTED_FILE_SCHEMA if f.name != dl.RAW_PAYLOAD])


def dead_letter_path(dataset: Path, source: str, input_id: str) -> Path:
    return dataset / f"{rq.SOURCE}={partition_value(source)}" / f"{partition_value(input_id)}.parquet"


def write_dead_letter_file(dataset: Path, restricted: Path, source: str, name: str, frame: pl.DataFrame) -> Path:
    """One source's dead letters as `source=<source>/<name>.parquet`, in source order: published
    without raw payloads in `dataset` (a transaction's folder: synced at its commit), whole in
    `restricted` (atomically and durably, before the commit)."""
    target = dead_letter_path(dataset, source, name)
    rows = frame.sort(rq.SOURCE_FILE, rq.SOURCE_POSITION).drop(rq.SOURCE).to_arrow().cast(RESTRICTED_FILE_SCHEMA)
    write_atomic(rows, dead_letter_path(restricted, source, name), restricted)
    write_atomic(rows.drop_columns([dl.RAW_PAYLOAD]), target, dataset, sync=False)
    return target


def _by_input(frame: pl.DataFrame):
    yield from frame.partition_by([rq.SOURCE, rq.SOURCE_FILE], as_dict=True).items()


class _PublishDeadLetters(beam.DoFn):
    def __init__(self, dataset: str, restricted: str, input_ids: dict[str, str]) -> None:
        self.dataset, self.restricted = dataset, restricted
        self.input_ids = input_ids
        self.dead = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.DEAD_LETTERS)

    def process(self, keyed):
        (source, source_file), frames = keyed
        frame = pl.concat(list(frames))
        target = write_dead_letter_file(Path(self.dataset), Path(self.restricted), source,
                                        self.input_ids[source_file], frame)
        self.dead.inc(frame.height)
        yield str(target)


class WriteDeadLetters(beam.PTransform):
    """Dead-letter frames in; the written (published) file paths out."""

    def __init__(self, dataset: Path, restricted: Path, input_ids: dict[str, str]) -> None:
        super().__init__()
        self.dataset, self.restricted = str(dataset), str(restricted)
        self.input_ids = input_ids

    def expand(self, dead_frames):
        return (
            dead_frames
            | "KeyByInputFile" >> beam.FlatMap(_by_input)
            | "GroupByInputFile" >> beam.GroupByKey()
            | "PublishDeadLetters" >> beam.ParDo(_PublishDeadLetters(self.dataset, self.restricted, self.input_ids))
        )


def set_aside(dataset: Path, input_ids: list[str], staging: Path) -> list[tuple[Path, Path]]:
    """Move the dead letters of these inputs into `staging` before a run rewrites them, so that a
    run which finds none (a fixed mapping, say) leaves none behind; (original, kept)."""
    moved = []
    for name in sorted(set(input_ids)):
        for path in dataset.glob(f"{rq.SOURCE}=*/{partition_value(name)}.parquet"):
            kept = staging / f"{len(moved)}-{path.name}"
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, kept)
            moved.append((path, kept))
    return moved


def forget(moved: list[tuple[Path, Path]]) -> None:
    """After a committed run: the dead letters it set aside are gone for good."""
    for _original, kept in moved:
        kept.unlink(missing_ok=True)


def put_back(moved: list[tuple[Path, Path]]) -> None:
    """After a failed run: the dead letters it set aside are published again."""
    for original, kept in moved:
        if kept.exists():
            os.replace(kept, original)


def dead_letter_reasons(dataset: Path, input_ids: list[str]) -> dict[str, int]:
    """How many dead letters of these inputs are published, per reason."""
    files = [p for name in set(input_ids) for p in dataset.glob(f"{rq.SOURCE}=*/{partition_value(name)}.parquet")]
    if not files:
        return {}
    reasons = pl.concat([pl.read_parquet(p, columns=[dl.REASON]) for p in files])[dl.REASON].value_counts(sort=True)
    return dict(reasons.iter_rows())
