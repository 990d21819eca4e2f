"""Measure `read_raw_batches` on a generated CSV in our own vocabulary (not part of the suite).

    .venv/bin/python tests/pipelines/sources/bench_csv_throughput.py [--rows 1000000]

Writes the file with polars into a temporary folder (quoted commas, embedded newlines and
quotes in `description`, ISO timestamps with and without fractions), then reads it end to end
into `RAW_REQUEST` batches and reports rows per second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.sources.requests import read_raw_batches
from schemas.requests import (
    ADDRESS,
    AGENCY_RESPONSIBLE,
    CLOSED_DATETIME,
    DESCRIPTION,
    EXPECTED_DATETIME,
    LAT,
    LONG,
    REQUESTED_DATETIME,
    SERVICE_CODE,
    SERVICE_NAME,
    SERVICE_REQUEST_ID,
    STATUS,
    UPDATED_DATETIME,
)

DESCRIPTIONS = [
    'Pothole near "the" corner, left lane',
    "Graffiti on the wall\nsecond line of the report",
    "Noise all night",
]


def generate(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, 365 * 86_400, rows).astype("timedelta64[s]")
    requested = pl.Series((np.datetime64("2023-01-01T00:00:00") + offsets).astype("M8[us]"))
    iso = "%Y-%m-%dT%H:%M:%SZ"
    pl.DataFrame(
        {
            SERVICE_REQUEST_ID: pl.int_range(rows, eager=True).cast(pl.String),
            STATUS: rng.choice(["open", "closed"], rows),
            SERVICE_CODE: rng.choice(["001", "002", "003"], rows),
            SERVICE_NAME: rng.choice(["Pothole", "Graffiti", "Noise"], rows),
            DESCRIPTION: rng.choice(DESCRIPTIONS, rows),
            AGENCY_RESPONSIBLE: rng.choice(["DOT", "NYPD", "DEP"], rows),
            REQUESTED_DATETIME: requested.dt.strftime(iso),
            UPDATED_DATETIME: requested.dt.offset_by("1h").dt.strftime(iso),
            EXPECTED_DATETIME: requested.dt.offset_by("3d").dt.strftime(iso),
            CLOSED_DATETIME: requested.dt.offset_by("2h").dt.strftime("%Y-%m-%dT%H:%M:%S.%3fZ"),
            ADDRESS: rng.choice(["1 Main St", "22 Broadway, Apt 3"], rows),
            LAT: rng.uniform(40.5, 40.9, rows).astype(str),
            LONG: rng.uniform(-74.2, -73.7, rows).astype(str),
        }
    ).write_csv(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "requests.csv"
        generate(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        started, cpu_started = time.perf_counter(), time.process_time()
        count = sum(b.num_rows for b in read_raw_batches(path, "csv", batch_rows=args.batch_rows))
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    assert count == args.rows, (count, args.rows)
    print(
        f"{count:,} rows ({size_mb:.0f} MB) in {seconds:.2f} s wall, {cpu_seconds:.2f} s CPU: "
        f"{count / seconds:,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
