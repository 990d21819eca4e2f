"""Parquet, typically UrbanPulse's own exports: columns may be typed, not text.

Typed values are read as they are and turned into text by the conforming step (numbers via
their shortest round-trip form, timestamps into ISO 8601 UTC), so a typed file and its CSV
twin give the same raw rows.
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
    except (OSError, pa.ArrowException) as exc:
        raise SourceFormatError(f"cannot read {path} as Parquet: {exc}") from exc
    start = 0
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            frame = cast(pl.DataFrame, pl.from_arrow(batch))
            yield RawChunk(frame=frame, start=start)
            start += frame.height
    except (OSError, pa.ArrowException, pl.exceptions.PolarsError) as exc:
        raise SourceFormatError(
            f"Parquet file {path} is unreadable after row {start}: {exc}"
        ) from exc
