"""Helpers for the source adapter tests: where the real samples live, and a checked reader.

Kept out of `conftest.py` on purpose: test folders here have no `__init__.py`, so every
`conftest.py` is importable as the same module name `conftest`, and a second one would shadow
`tests/conftest.py` for the tests that import helpers from it.

The samples sit outside the repository (`../shared/data`, or $URBANPULSE_SAMPLES); modules that
need them get their path from `sample_file`, which skips the test (with the reason) when the
folder is absent, so a fresh clone still passes.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from pipelines.sources import read_raw_batches
from schemas.requests import RAW_REQUEST, SOURCE_POSITION

SAMPLES_ENV = "URBANPULSE_SAMPLES"
SAMPLES = Path(
    os.environ.get(SAMPLES_ENV) or Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
).resolve()


def sample_file(*parts: str) -> Path:
    """Path of a real-world sample; skips the calling test when the samples are absent."""
    if not SAMPLES.is_dir():
        pytest.skip(reason=f"real-world samples not found at {SAMPLES} (set ${SAMPLES_ENV})")
    return SAMPLES.joinpath(*parts)


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
