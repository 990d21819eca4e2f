"""Sensor sources: air-quality and weather exports -> `schemas.sensors.RAW_OBSERVATION` frames.

`uci.py` reads the UCI Beijing multi-site files (one wide row per station-hour), `wide_daily.py`
Madrid's open-data layout (one row per station x pollutant x day, 24 hourly values with their
validity flags), `stations.py` station metadata (Beijing TSV, Madrid CSV, a generic CSV).

Every adapter reads the file as text lines (universal newlines: LF, CRLF and a lone CR end a
line; a UTF-8 BOM is dropped; other encodings as `encoding.text_encoding` says) and splits them
with polars, a batch of lines at a time, so memory stays flat and a broken line costs one
unreadable row (`unreadable_record`, parameter null), never the file. Lines are bounded by
`limits.MAX_RECORD_CHARS`. In every adapter `(source_file, source_position, parameter)`
identifies one raw row; each module says what its positions count.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import polars as pl

from pipelines.sources.encoding import open_text, text_encoding
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.limits import MAX_CHUNK_CHARS, MAX_RECORD_CHARS, kept_text
from schemas.sensors import RAW_OBSERVATION

_PIECE_CHARS = 1 << 20
_RAW_TYPES = dict(pl.from_arrow(RAW_OBSERVATION.empty_table()).schema)  # type: ignore[union-attr]
_REQUIRED = [f.name for f in RAW_OBSERVATION if not f.nullable]


def open_lines(path: Path) -> TextIO:
    """`path` as text, or `SourceFormatError` when it cannot be opened."""
    try:
        return open_text(path, text_encoding(path))
    except OSError as exc:
        raise SourceFormatError(f"cannot read sensor file {path}: {exc}") from exc


def bounded_lines(handle: TextIO) -> Iterator[tuple[str, bool]]:
    """(line without its line break, whether it was too long) for every line of `handle`.

    A line longer than `MAX_RECORD_CHARS` is read on in pieces and only counted; its text is the
    start that `kept_text` keeps, so it can become an unreadable row without costing memory.
    """
    while True:
        line = handle.readline(MAX_RECORD_CHARS + 1)
        if not line:
            return
        if len(line) <= MAX_RECORD_CHARS or line.endswith("\n"):
            yield line.rstrip("\r\n"), False
            continue
        start, total = line, len(line)
        while not line.endswith("\n"):
            line = handle.readline(_PIECE_CHARS)
            if not line:
                break
            total += len(line)
        total -= len(line) - len(line.rstrip("\r\n"))  # the line break is not the record's
        yield kept_text(start, total), True


def line_batches(path: Path, batch_lines: int) -> Iterator[tuple[str, list[str], list[bool], int]]:
    """(header line, lines, which of them were too long, index of the first) for `path`.

    The first item carries the header and no lines (so the caller checks the columns even of a
    file without records); then at most `batch_lines` data lines at a time, fewer when their
    text reaches `MAX_CHUNK_CHARS`. Blank lines are not records and are not counted. Nothing at
    all for a file without a header.
    """
    with open_lines(path) as handle:
        lines = bounded_lines(handle)
        header = next((text for text, _ in lines if text.strip()), None)
        if header is None:
            return
        yield header, [], [], 0
        batch: list[str] = []
        too_long: list[bool] = []
        start = chars = 0
        for text, long_line in lines:
            if not text.strip():
                continue
            batch.append(text)
            too_long.append(long_line)
            chars += len(text)
            if len(batch) == batch_lines or chars >= MAX_CHUNK_CHARS:
                yield header, batch, too_long, start
                start += len(batch)
                batch, too_long, chars = [], [], 0
        if batch:
            yield header, batch, too_long, start


def split_header(header: str, separator: str) -> list[str]:
    """Column names of a header line, quotes and blanks around them removed."""
    return [name.strip().strip('"').strip() for name in header.split(separator)]


def split_lines(lines: list[str], too_long: list[bool], separator: str, n_fields: int) -> pl.DataFrame:
    """`lines` split into `field_0 ..` text columns, plus `line` (the text) and `readable`
    (exactly `n_fields` fields and not too long). Fields lose their surrounding quotes and
    blanks; an empty field is null. Quotes do not protect separators: a quoted separator gives
    the line the wrong number of fields, so it is kept as unreadable rather than misread."""
    frame = pl.DataFrame({"line": lines, "too_long": too_long}, schema={"line": pl.String, "too_long": pl.Boolean})
    names = [f"field_{i}" for i in range(n_fields)]
    parts = pl.col("line").str.split(separator)
    frame = frame.with_columns(
        parts.list.to_struct(fields=names).alias("_fields"),
        ((parts.list.len() == n_fields) & ~pl.col("too_long")).alias("readable"),
    ).unnest("_fields")
    stripped = [pl.col(name).str.strip_chars(' \t"') for name in names]
    return frame.with_columns(pl.when(field != "").then(field).alias(name) for field, name in zip(stripped, names))


def to_raw_observation(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with exactly the RAW_OBSERVATION columns, in order and with their types.

    The polars types are taken from the arrow schema (`pl.from_arrow` of an empty table), so a
    change there shows here; a missing column or a null in a non-nullable column raises. Cheaper
    than a round trip through arrow, which copies every repeated `source_file` string.
    """
    raw = frame.select(pl.col(name).cast(dtype) for name, dtype in _RAW_TYPES.items())
    nulls = raw.select(pl.col(name).null_count() for name in _REQUIRED).row(0)
    if any(nulls):
        bad = [name for name, count in zip(_REQUIRED, nulls) if count]
        raise ValueError(f"raw observations with nulls in non-nullable columns: {', '.join(bad)}")
    return raw


def in_batches(frame: pl.DataFrame, batch_rows: int) -> Iterator[pl.DataFrame]:
    """`frame` in slices of at most `batch_rows` rows (none for an empty frame)."""
    for offset in range(0, frame.height, max(1, batch_rows)):
        yield frame.slice(offset, batch_rows)


def check_batch_rows(batch_rows: int) -> None:
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
