"""What every format reader hands to the conforming step: records under the source's own names.

Readers only know their file format; mapping, timestamps and provenance are applied once, in
`conform`, so that no two adapters carry their own copy of that logic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain

import polars as pl

_NOTHING: Mapping[str, object] = {}


@dataclass(frozen=True)
class RawChunk:
    """Consecutive records of one file, as text (or typed, for parquet) under source names.

    `start` is the 0-based index of the first record in the file. Where `unreadable` holds a
    text, that record could not be read at all and its `frame` row is all null.
    """

    frame: pl.DataFrame
    start: int
    unreadable: pl.Series | None = None

    @property
    def n_rows(self) -> int:
        if self.frame.width or self.unreadable is None:
            return self.frame.height
        return len(self.unreadable)

    @property
    def readable_rows(self) -> int:
        if self.unreadable is None:
            return self.n_rows
        return self.n_rows - self.unreadable.is_not_null().sum()


def chunk_from_records(
    records: list[Mapping[str, object] | None], unreadable: list[str | None], start: int
) -> RawChunk:
    """Column-wise frame from parsed records (None where the record was unreadable).

    Keys are the union over the chunk (Open311 fields are optional per record); scalars become
    text: JSON numbers arrive as their original text (parse them with `parse_float=str`),
    booleans as `true`/`false`, nested values as compact JSON.
    """
    rows = [_NOTHING if record is None else record for record in records]
    keys = dict.fromkeys(chain.from_iterable(rows))
    frame = pl.DataFrame([_text_column(key, [row.get(key) for row in rows]) for key in keys])
    has_unreadable = any(text is not None for text in unreadable)
    texts = pl.Series(unreadable, dtype=pl.String) if has_unreadable else None
    if not keys and texts is None:
        texts = pl.Series([None] * len(records), dtype=pl.String)
    return RawChunk(frame=frame, start=start, unreadable=texts)


def batched_records(
    items: Iterable[tuple[Mapping[str, object] | None, str | None]], batch_rows: int
) -> Iterable[RawChunk]:
    """Group (record, unreadable text) pairs into chunks of at most `batch_rows` records."""
    records: list[Mapping[str, object] | None] = []
    unreadable: list[str | None] = []
    start = 0
    for record, text in items:
        records.append(record)
        unreadable.append(text)
        if len(records) == batch_rows:
            yield chunk_from_records(records, unreadable, start)
            start += len(records)
            records, unreadable = [], []
    if records:
        yield chunk_from_records(records, unreadable, start)


def _text_column(name: str, values: list[object]) -> pl.Series:
    """Fast when every value is already text or null (the common case), exact otherwise."""
    try:
        return pl.Series(name, values, dtype=pl.String, strict=True)
    except (TypeError, pl.exceptions.PolarsError):
        return pl.Series(name, [_as_text(value) for value in values], dtype=pl.String)


def _as_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
