"""Helpers for the source adapter tests: where the real samples live, and a checked reader.

Kept out of `conftest.py` on purpose: test folders here have no `__init__.py`, so every
`conftest.py` is importable as the same module name `conftest`, and a second one would shadow
`tests/conftest.py` for the tests that import helpers from it.

The samples' location and `sample_file` come from `tests/samples.py`. `CITY_EXPORTS` describes
the real city exports (NYC, SF) that `test_city_exports.py` checks alike and `test_nyc311.py` /
`test_sf311.py` check for their own quirks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
from samples import SAMPLES, SAMPLES_ENV, sample_file  # noqa: F401  (re-exported for the source tests)

from pipelines.sources.requests import read_raw_batches
from schemas.requests import (
    CLOSED_DATETIME,
    EXPECTED_DATETIME,
    RAW_REQUEST,
    REQUESTED_DATETIME,
    SOURCE_POSITION,
    UPDATED_DATETIME,
)


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


@dataclass(frozen=True)
class CityExport:
    """A real city export in `../shared/data/requests/`, and how its own columns are named."""

    fmt: str  # the source format that reads it
    file: str
    rows: int
    id_column: str
    timestamps: tuple[tuple[str, str], ...]  # (Open311 field, export column)
    batch_rows: int  # small enough that the sample spans several batches

    @property
    def sample(self) -> Path:
        return sample_file("requests", self.file)

    def export(self) -> pl.DataFrame:
        """The export as the city wrote it, read independently of the adapter."""
        return pl.read_csv(self.sample, infer_schema=False)

    def raw(self) -> pl.DataFrame:
        return read_raw(self.sample, self.fmt, batch_rows=self.batch_rows)


CITY_EXPORTS = {
    "nyc311": CityExport(
        "nyc311", "nyc311_2023-02-28_sample_5k.csv", 4_999, "Unique Key",
        ((REQUESTED_DATETIME, "Created Date"), (CLOSED_DATETIME, "Closed Date"),
         (UPDATED_DATETIME, "Resolution Action Updated Date"), (EXPECTED_DATETIME, "Due Date")),
        batch_rows=1_000,
    ),
    "sf311": CityExport(
        "sf311", "sf311_service_requests_sample_10k.csv", 10_000, "unique_key",
        ((REQUESTED_DATETIME, "created_date"), (CLOSED_DATETIME, "closed_date"),
         (UPDATED_DATETIME, "resolution_action_updated_date")),
        batch_rows=4_000,
    ),
}
