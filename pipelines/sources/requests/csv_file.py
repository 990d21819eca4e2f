"""Delimited text exports (generic CSV, and the base of the NYC/SF adapters).

Polars' streaming CSV reader does the work (multi-line quoted fields, BOM, ~1M rows/s per
core, constant memory). Everything is read as text: a source's `00123` or `02/28/2023` must
reach validation as written. Undecodable bytes become U+FFFD rather than losing the record.

Polars refuses a file with a record that has more fields than the header. Rather than losing
the file (or silently truncating the record), reading then continues with Python's `csv`
module from the first record polars did not deliver, and such a record is kept as an
unreadable row carrying its exact original text. Rows whose fields are all empty (blank lines)
are not records, in either path. Files whose lines end in a lone CR (old Mac exports), which
polars would read as one line, take the Python path from the start. Files that are not UTF-8
are decoded as `encoding.text_encoding` says, through a temporary UTF-8 copy, so they take the
same paths (UTF-8 files are read in place).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import polars as pl

from pipelines.sources.encoding import text_encoding, utf8_copy
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.limits import KEPT_TEXT_CHARS, MAX_RECORD_CHARS, kept_text
from pipelines.sources.requests.chunks import RawChunk
from pipelines.sources.requests.mapping import SourceMapping

DEFAULT_SEPARATOR = ","
SNIFF_BYTES = 1 << 16


def read_csv_chunks(path: Path, batch_rows: int, mapping: SourceMapping) -> Iterator[RawChunk]:
    """Chunks of at most `batch_rows` records, all columns as text under the file's names."""
    separator = mapping.separator or DEFAULT_SEPARATOR
    try:
        encoding = text_encoding(path, mapping.encoding)
    except OSError as exc:
        raise SourceFormatError(f"cannot read CSV file {path}: {exc}") from exc
    with utf8_copy(path, encoding) as utf8_path:
        for chunk in _read_utf8(utf8_path, separator, batch_rows, shown=path):
            yield chunk if encoding.guess is None else replace(chunk, guessed_encoding=encoding.guess)


def _read_utf8(path: Path, separator: str, batch_rows: int, shown: Path) -> Iterator[RawChunk]:
    if _ends_lines_with_lone_cr(path):  # old Mac exports: polars reads them as one line
        header = _python_header(path, separator, shown)
        if header:
            yield from _read_with_python(path, header, separator, batch_rows, skip=0)
        return
    scan = pl.scan_csv(
        path,
        separator=separator,
        infer_schema=False,
        encoding="utf8-lossy",
        truncate_ragged_lines=False,
        raise_if_empty=False,
    )
    try:
        header = list(scan.collect_schema())
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise SourceFormatError(f"cannot read CSV header of {shown}: {exc}") from exc
    if not header:
        return
    delivered = 0
    try:
        for frame in scan.collect_batches(chunk_size=batch_rows):
            records = frame.filter(pl.any_horizontal(pl.all().is_not_null()))
            if records.height:
                yield RawChunk(frame=records, start=delivered)
                delivered += records.height
    except pl.exceptions.ComputeError:
        yield from _read_with_python(path, header, separator, batch_rows, skip=delivered)


def _ends_lines_with_lone_cr(path: Path) -> bool:
    """Whether the file's start has carriage returns that are not part of CRLF."""
    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    return sample.count(b"\r") > sample.count(b"\r\n")


def _python_header(path: Path, separator: str, shown: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        try:
            return next(_csv_reader(handle, separator), [])
        except csv.Error as exc:
            raise SourceFormatError(
                f"cannot read CSV header of {shown}: {exc}; the first line must name the columns"
            ) from exc


def _read_with_python(
    path: Path, header: list[str], separator: str, batch_rows: int, skip: int
) -> Iterator[RawChunk]:
    """The slow, forgiving path: one record at a time, keeping each record's raw text."""
    rows: list[list[str | None]] = []
    unreadable: list[str | None] = []
    position = 0
    start = skip
    for fields, raw in _records_with_text(path, separator):
        if fields is not None and all(value == "" for value in fields):
            continue  # blank line, not a record
        position += 1
        if position <= skip:
            continue  # polars delivered it already
        if fields is None or len(fields) > len(header):
            rows.append([None] * len(header))
            unreadable.append(raw.rstrip("\r\n"))
        else:
            padded = fields + [""] * (len(header) - len(fields))
            rows.append([value or None for value in padded])
            unreadable.append(None)
        if len(rows) == batch_rows:
            yield _chunk(rows, unreadable, header, start)
            start += len(rows)
            rows, unreadable = [], []
    if rows:
        yield _chunk(rows, unreadable, header, start)


def _records_with_text(path: Path, separator: str) -> Iterator[tuple[list[str] | None, str]]:
    """Data records after the header, each with the exact text it was read from.

    `None` instead of fields marks text the csv module gave up on (an unterminated quote that
    runs past its field size limit): the rest of the file, kept as one unreadable record.
    """
    consumed: list[str] = []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:

        def lines() -> Iterator[str]:
            for line in handle:
                consumed.append(line)
                yield line

        reader = _csv_reader(lines(), separator)
        try:
            next(reader, None)
            consumed.clear()
            for fields in reader:
                raw = "".join(consumed)
                consumed.clear()
                yield fields, raw
        except csv.Error:
            yield None, _rest_as_text("".join(consumed), handle)


def _rest_as_text(start: str, handle: TextIO) -> str:
    """The text from `start` to the end of the file, as an unreadable row keeps it (the part
    past `KEPT_TEXT_CHARS` is read in pieces and only counted)."""
    pieces, total = [start], len(start)
    for piece in iter(lambda: handle.read(1 << 20), ""):
        total += len(piece)
        if total - len(piece) < KEPT_TEXT_CHARS:
            pieces.append(piece)
    return kept_text("".join(pieces), total)


def _csv_reader(lines: Iterator[str], separator: str) -> Iterator[list[str]]:
    # the module's default field limit (128 KiB) would end the file at the first long field
    csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_CHARS))
    return csv.reader(lines, delimiter=separator)


def _chunk(
    rows: list[list[str | None]], unreadable: list[str | None], header: list[str], start: int
) -> RawChunk:
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    frame = pl.DataFrame(columns, schema=dict.fromkeys(header, pl.String))
    texts = pl.Series(unreadable, dtype=pl.String) if any(unreadable) else None
    return RawChunk(frame=frame, start=start, unreadable=texts)
