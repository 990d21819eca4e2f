"""How many records a file probably holds, from its size and its first megabyte: the basis of
the progress estimate while a file is read (readers deliver records, not byte offsets).

Parquet says exactly. Line formats (CSV, JSON Lines and the city exports) hold about one record
per line; Open311 JSON and XML documents are counted by a marker every record carries. A file
whose first megabyte shows no such mark (one long line, a renamed id field) has no estimate:
progress then moves when the file is done.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.requests import SERVICE_REQUEST_ID

SAMPLE_BYTES = 1 << 20
# the bytes that start each record, for document formats (all others: a line per record)
_RECORD_MARKS: dict[str, tuple[bytes, ...]] = {
    "open311-json": (f'"{SERVICE_REQUEST_ID}"'.encode(),),
    "open311-xml": (b"<request>", b"<request "),
}
_WITH_HEADER = frozenset({"csv", "nyc311", "sf311"})


def estimated_records(path: Path, fmt: str) -> int | None:
    """About how many records `path` holds as `fmt`; None when the file does not say."""
    try:
        if fmt == "parquet":
            return pq.ParquetFile(path).metadata.num_rows
        size = path.stat().st_size
        with open(path, "rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
    except (OSError, ValueError, pa.ArrowException):
        return None  # the reader says what is wrong with the file, not this estimate
    if not sample:
        return 0
    marks = sum(sample.count(mark) for mark in _RECORD_MARKS.get(fmt, (b"\n",)))
    if len(sample) == size:  # all of it seen: count what is there
        lines = marks + (fmt not in _RECORD_MARKS and not sample.endswith(b"\n"))
        return max(lines - (fmt in _WITH_HEADER), 0)
    if marks == 0:
        return None
    return max(round(size * marks / len(sample)) - (fmt in _WITH_HEADER), 1)
