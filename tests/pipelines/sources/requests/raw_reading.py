"""Helpers for the source adapter tests: where the real samples live, and a checked reader.

Kept out of `conftest.py` on purpose: test folders here have no `__init__.py`, so every
`conftest.py` is importable as the same module name `conftest`, and a second one would shadow
`tests/conftest.py` for the tests that import helpers from it.

The samples' location and `sample_file` come from `tests/samples.py`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
from samples import SAMPLES, SAMPLES_ENV, sample_file  # noqa: F401  (re-exported for the source tests)

from pipelines.sources.requests import read_raw_batches
from schemas.requests import RAW_REQUEST, SOURCE_POSITION


def read_raw(path: Path, fmt: str, **options: object) -> pl.DataFrame:
    """`read_raw_batches` as one frame, after checking what every caller relies on.

    Every batch has exactly `RAW_REQUEST` (metadata included) and at most `batch_rows` rows,
    and `source_position` runs 0..n-1 in order across batches.
    """
    batches = list(read_raw_batches(path, fmt, **options))  # type: ignore[arg-type]
    limit = options.get("batch_rows", 100_000)
    for batch in batches:
        assert batch.schema.equals(RAW_REQUEST, check_metadata=True)
        assert 0 < batch.num_rows <= limit  # type: ignore[operator]
    frame = pl.from_arrow(pa.Table.from_batches(batches, schema=RAW_REQUEST))
    assert isinstance(frame, pl.DataFrame)
    assert frame.get_column(SOURCE_POSITION).to_list() == list(range(frame.height))
    return frame
