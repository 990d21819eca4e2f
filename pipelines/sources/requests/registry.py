"""The one entry point: a file, a format name, optionally a mapping -> `RAW_REQUEST` batches.

A Beam DoFn (or a test, or a notebook) calls `read_raw_batches` and gets Arrow record batches
of at most `batch_rows` rows, one row per record of the file in file order, never fewer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.requests import nyc311, sf311
from pipelines.sources.requests.chunks import RawChunk
from pipelines.sources.requests.conform import conform
from pipelines.sources.requests.csv_file import read_csv_chunks
from pipelines.sources.requests.jsonl_file import read_jsonl_chunks
from pipelines.sources.requests.mapping import IDENTITY, SourceMapping
from pipelines.sources.requests.open311_json import read_open311_json_chunks
from pipelines.sources.requests.open311_xml import read_open311_xml_chunks
from pipelines.sources.requests.parquet_file import read_parquet_chunks

DEFAULT_BATCH_ROWS = 100_000
OPEN311_SOURCE = "open311"
_MAX_NAMES_SEEN = 200

ChunkReader = Callable[[Path, int, SourceMapping], Iterator[RawChunk]]


@dataclass(frozen=True)
class SourceFormat:
    """A reader plus the mapping that fits its files when the caller gives none.

    `tabular` formats have a header, so a missing mapped column is known before any row is
    read. Record formats (JSON, XML) may omit any field in any record, so a mapped key is only
    an error when no record of the whole file has it. `default_source` None means the file's
    stem; `source_from_rows` lets our own exports keep a per-row `source` column.
    """

    read: ChunkReader
    mapping: SourceMapping
    tabular: bool
    default_source: str | None = None
    source_from_rows: bool = False


FORMATS: dict[str, SourceFormat] = {
    nyc311.NAME: SourceFormat(read_csv_chunks, nyc311.NYC311, tabular=True),
    sf311.NAME: SourceFormat(read_csv_chunks, sf311.SF311, tabular=True),
    "open311-json": SourceFormat(
        read_open311_json_chunks, IDENTITY, tabular=False, default_source=OPEN311_SOURCE
    ),
    "open311-xml": SourceFormat(
        read_open311_xml_chunks, IDENTITY, tabular=False, default_source=OPEN311_SOURCE
    ),
    "csv": SourceFormat(read_csv_chunks, IDENTITY, tabular=True, source_from_rows=True),
    "jsonl": SourceFormat(read_jsonl_chunks, IDENTITY, tabular=False, source_from_rows=True),
    "parquet": SourceFormat(read_parquet_chunks, IDENTITY, tabular=True, source_from_rows=True),
}


def read_raw_batches(
    path: Path,
    fmt: str,
    source: str | None = None,
    mapping: SourceMapping | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """Batches conforming to `schemas.requests.RAW_REQUEST`, one row per record of `path`.

    `mapping` is laid over the format's own (a mapping that only sets `timezone` keeps the
    format's columns). `source` wins over the mapping's `source`, which wins over the format's
    name (`nyc311`, `sf311`, `open311`; the file's stem for generic formats). Raises
    `SourceFormatError` for an unknown format, a missing mapped column, an unreadable file or
    an Open311 error answer; bad records never raise, they become rows validation rejects.
    Problems with the arguments raise at the call; problems with the content while iterating.
    """
    spec = FORMATS.get(fmt)
    if spec is None:
        raise SourceFormatError(
            f"unknown source format {fmt!r}; supported formats are {sorted(FORMATS)}"
        )
    if batch_rows < 1:
        raise SourceFormatError(f"batch_rows must be at least 1, got {batch_rows}")
    path = Path(path)
    if not path.is_file():
        raise SourceFormatError(f"{path} is not a readable file (format {fmt!r})")
    effective = spec.mapping if mapping is None else mapping.over(spec.mapping)
    name = source or effective.source or spec.default_source or path.stem
    from_rows = spec.source_from_rows and not (source or effective.source)
    return _batches(path, fmt, spec, effective, name, from_rows, batch_rows)


def _batches(
    path: Path,
    fmt: str,
    spec: SourceFormat,
    mapping: SourceMapping,
    source: str,
    source_from_rows: bool,
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    where = f"{fmt} file {path}"
    seen: set[str] = set()
    readable = 0
    for chunk in spec.read(path, batch_rows, mapping):
        if spec.tabular and not seen:
            mapping.check_columns(chunk.frame.columns, where)
        seen.update(chunk.frame.columns)
        if len(seen) < _MAX_NAMES_SEEN:
            seen.update(chunk.other_columns)  # fields no mapping reads: named in messages only
        readable += chunk.readable_rows
        yield conform(
            chunk,
            mapping,
            source=source,
            source_file=str(path),
            source_from_rows=source_from_rows,
        )
    if not spec.tabular and readable:
        # late, but before the caller can consider the file done: Beam retries the bundle
        mapping.check_columns(seen, where)


def timestamp_formats_tried(fmt: str, mapping: SourceMapping | None = None,
                            mapping_file: str | None = None) -> str:
    """What a timestamp that stays unparsed failed to match, for its dead letter's detail:
    the mapping's own format(s) and its file when it sets any, else the format's default ones."""
    spec = FORMATS.get(fmt)
    if mapping is not None and mapping.timestamp_formats:
        formats = ", ".join(f'"{f}"' for f in mapping.timestamp_formats)
        where = f" (mapping file {mapping_file})" if mapping_file else ""
        if len(mapping.timestamp_formats) == 1:
            return f"the mapping's timestamp format {formats}{where}"
        return f"any of the mapping's timestamp formats {formats}{where}"
    tried = ", ".join(f'"{f}"' for f in (spec.mapping.formats if spec else ()))
    hint = (f"; mapping file {mapping_file} sets no [timestamps] format" if mapping_file
            else "; a mapping with a [timestamps] format reads other forms")
    return f"any of the timestamp formats of format {fmt} ({tried}){hint}"
