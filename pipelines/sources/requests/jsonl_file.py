"""JSON Lines: one request object per line, as UrbanPulse's own feeds and many webhooks write.

A line that is not a JSON object (truncated write, stray log line) is still a record: it
becomes a row whose `unreadable_record` holds the line, so validation can dead-letter it with
its position. Blank lines are not records. Numbers keep the text they were written with.
Lines may end in LF, CRLF or a lone CR (a JSON text never holds a raw line break, so none of
them can split a record); a UTF-8 byte-order mark is dropped; files that are not UTF-8 are
decoded as `encoding.text_encoding` says. A line longer than `MAX_RECORD_CHARS` is read in
pieces and kept as an unreadable row with its start, so memory per record is bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from pipelines.sources.encoding import open_text, text_encoding
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.limits import MAX_RECORD_CHARS
from pipelines.sources.requests.chunks import RawChunk, batched_records
from pipelines.sources.requests.json_records import decode_record
from pipelines.sources.requests.mapping import SourceMapping


def read_jsonl_chunks(path: Path, batch_rows: int, mapping: SourceMapping) -> Iterator[RawChunk]:
    """Chunks of at most `batch_rows` records, only the fields `mapping` can read."""
    try:
        encoding = text_encoding(path, mapping.encoding)
        handle = open_text(path, encoding)
    except OSError as exc:
        raise SourceFormatError(f"cannot open JSON Lines file {path}: {exc}") from exc
    with handle:
        items = (decode_record(text, chars) for text, chars in _lines(handle) if text.strip())
        try:
            for chunk in batched_records(items, batch_rows, mapping.source_columns()):
                yield replace(chunk, guessed_encoding=encoding.guess)
        except OSError as exc:
            raise SourceFormatError(f"cannot read JSON Lines file {path}: {exc}") from exc


def _lines(handle: TextIO) -> Iterator[tuple[str, int]]:
    """(line without its ending, its full length): at most `MAX_RECORD_CHARS` of it are kept."""
    while True:
        line = handle.readline(MAX_RECORD_CHARS)
        if not line:
            return
        if line.endswith("\n"):
            yield line[:-1], len(line) - 1
        elif len(line) < MAX_RECORD_CHARS:
            yield line, len(line)  # the last line, without an ending
        else:
            yield line, len(line) + _skip_rest_of_line(handle)


def _skip_rest_of_line(handle: TextIO) -> int:
    skipped = 0
    while True:
        piece = handle.readline(MAX_RECORD_CHARS)
        skipped += len(piece.removesuffix("\n"))
        if not piece or piece.endswith("\n"):
            return skipped
