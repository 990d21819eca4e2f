"""Parquet, typically UrbanPulse's own exports: columns may be typed, not text.

Typed values are read as they are and turned into text by the conforming step (numbers via
their shortest round-trip form, timestamps into ISO 8601 UTC), so a typed file and its CSV
twin give the same raw rows. Text columns holding bytes that are not UTF-8 are repaired (U+FFFD)
before polars sees them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.requests.chunks import RawChunk
from pipelines.sources.requests.mapping import SourceMapping


def read_parquet_chunks(path: Path, batch_rows: int, mapping: SourceMapping) -> Iterator[RawChunk]:
    """Chunks of at most `batch_rows` rows; `mapping` is unused (no reader options)."""
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, ValueError, pa.ArrowException) as exc:  # ValueError: names that are not UTF-8
        raise SourceFormatError(f"cannot read {path} as Parquet: {exc}") from exc
    start = 0
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            frame = cast(pl.DataFrame, pl.from_arrow(_valid_text(batch)))
            yield RawChunk(frame=frame, start=start)
            start += frame.height
    except (OSError, ValueError, pa.ArrowException, pl.exceptions.PolarsError) as exc:
        raise SourceFormatError(
            f"Parquet file {path} is unreadable after row {start}: {exc}"
        ) from exc


def _valid_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with text that is valid UTF-8: Parquet readers do not check it, and polars
    panics on text that is not; bytes that are not UTF-8 become U+FFFD, as in text files.
    Anything else a full validation finds wrong is a damaged file (raises `ArrowInvalid`)."""
    try:
        batch.validate(full=True)
        return batch
    except pa.ArrowInvalid:
        pass
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            try:
                column.validate(full=True)
            except pa.ArrowInvalid:
                raw = column.view(pa.binary() if pa.types.is_string(column.type) else pa.large_binary())
                texts = [None if b is None else b.decode("utf-8", errors="replace") for b in raw.to_pylist()]
                column = pa.array(texts, type=column.type)
        columns.append(column)
    repaired = pa.RecordBatch.from_arrays(columns, schema=batch.schema)
    repaired.validate(full=True)
    return repaired
