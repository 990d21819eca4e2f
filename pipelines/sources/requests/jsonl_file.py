"""JSON Lines: one request object per line, as UrbanPulse's own feeds and many webhooks write.

A line that is not a JSON object (truncated write, stray log line) is still a record: it
becomes a row whose `unreadable_record` holds the line, so validation can dead-letter it with
its position. Blank lines are not records. Numbers keep the text they were written with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.requests.chunks import RawChunk, batched_records
from pipelines.sources.requests.mapping import SourceMapping

Parsed = tuple[dict[str, object] | None, str | None]
_DECODER = json.JSONDecoder(parse_float=str, parse_int=str, parse_constant=str)


def read_jsonl_chunks(path: Path, batch_rows: int, mapping: SourceMapping) -> Iterator[RawChunk]:
    """Chunks of at most `batch_rows` records; `mapping` is unused (no reader options)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SourceFormatError(f"cannot open JSON Lines file {path}: {exc}") from exc
    with handle:
        yield from batched_records(_parse_lines(handle), batch_rows)


def _parse_lines(handle: Iterator[bytes]) -> Iterator[Parsed]:
    for number, raw in enumerate(handle):
        if number == 0:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not text.strip():
            continue
        yield parse_object(text)


def parse_object(text: str) -> Parsed:
    """(record, None) for a JSON object, (None, text) for anything else."""
    try:
        value = _DECODER.decode(text)
    except ValueError:
        return None, text
    if not isinstance(value, dict):
        return None, text
    return value, None
