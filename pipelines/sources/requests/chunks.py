"""What every format reader hands to the conforming step: records under the source's own names.

Readers only know their file format; mapping, timestamps and provenance are applied once, in
`conform`, so that no two adapters carry their own copy of that logic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import chain, islice

import polars as pl

from pipelines.sources.limits import MAX_CHUNK_CHARS

_NOTHING: Mapping[str, object] = {}
MAX_OTHER_COLUMNS = 50  # names of fields no mapping reads, kept per chunk for messages


@dataclass(frozen=True)
class RawChunk:
    """Consecutive records of one file, as text (or typed, for parquet) under source names.

    `start` is the 0-based index of the first record in the file. Where `unreadable` holds a
    text, that record could not be read at all and its `frame` row is all null. Record readers
    keep only the fields a mapping can read; `other_columns` names some of the rest (for error
    messages). `guessed_encoding` is the text encoding the reader guessed for the file, if any.
    """

    frame: pl.DataFrame
    start: int
    unreadable: pl.Series | None = None
    other_columns: frozenset[str] = frozenset()
    guessed_encoding: str | None = None

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


# (record under source names or None, its unreadable text or None, characters of its text)
Item = tuple[Mapping[str, object] | None, str | None, int]


def chunk_from_records(
    records: list[Mapping[str, object] | None],
    unreadable: list[str | None],
    start: int,
    keep: AbstractSet[str] | None = None,
) -> RawChunk:
    """Column-wise frame from parsed records (None where the record was unreadable).

    Keys are the union over the chunk (Open311 fields are optional per record), or only those in
    `keep`; scalars become text: JSON numbers arrive as their original text (parse them with
    `parse_float=str`), booleans as `true`/`false`, nested values as compact JSON.
    """
    rows = [_NOTHING if record is None else record for record in records]
    keys = list(dict.fromkeys(chain.from_iterable(rows)))
    others: frozenset[str] = frozenset()
    if keep is not None:
        others = frozenset(islice((key for key in keys if key not in keep), MAX_OTHER_COLUMNS))
        keys = [key for key in keys if key in keep]
    frame = pl.DataFrame([_text_column(key, [row.get(key) for row in rows]) for key in keys])
    has_unreadable = any(text is not None for text in unreadable)
    texts = pl.Series(unreadable, dtype=pl.String) if has_unreadable else None
    if not keys and texts is None:
        texts = pl.Series([None] * len(records), dtype=pl.String)
    return RawChunk(frame=frame, start=start, unreadable=texts, other_columns=others)


def batched_records(
    items: Iterable[Item], batch_rows: int, keep: AbstractSet[str] | None = None
) -> Iterator[RawChunk]:
    """Group records into chunks of at most `batch_rows` records and about `MAX_CHUNK_CHARS`."""
    records: list[Mapping[str, object] | None] = []
    unreadable: list[str | None] = []
    start = chars = 0
    for record, text, size in items:
        records.append(record)
        unreadable.append(text)
        chars += size
        if len(records) == batch_rows or chars >= MAX_CHUNK_CHARS:
            yield chunk_from_records(records, unreadable, start, keep)
            start += len(records)
            records, unreadable, chars = [], [], 0
    if records:
        yield chunk_from_records(records, unreadable, start, keep)


def _text_column(name: str, values: list[object]) -> pl.Series:
    """Fast when every value is already text or null (the common case), exact otherwise."""
    try:
        return pl.Series(name, values, dtype=pl.String, strict=True)
    except (TypeError, pl.exceptions.PolarsError):
        return pl.Series(name, [as_text(value) for value in values], dtype=pl.String)


def as_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
