"""Source records to `RAW_REQUEST` batches: mapping, text, timestamps, provenance.

This is the single place where a reader's output becomes our schema, so every format gets the
same rules: empty text is null, coordinates pass through untouched (validation flags null
island and out-of-range values), timestamps become ISO 8601 UTC when the source's format
parses them and keep their original text otherwise, and every record keeps its position.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.requests.chunks import RawChunk
from pipelines.sources.requests.mapping import SourceMapping
from pipelines.sources.timestamps import text_to_iso_utc, typed_as_text, typed_to_iso_utc
from schemas.requests import (
    COORDINATE_FIELDS,
    GUESSED_ENCODING,
    OPEN311_FIELDS,
    RAW_REQUEST,
    SOURCE,
    SOURCE_FILE,
    SOURCE_POSITION,
    TIMESTAMP_FIELDS,
    UNREADABLE_RECORD,
)

_TEMPORAL = (pl.Date, pl.Datetime)


def conform(
    chunk: RawChunk,
    mapping: SourceMapping,
    *,
    source: str,
    source_file: str,
    source_from_rows: bool = False,
) -> pa.RecordBatch:
    """One `RAW_REQUEST` batch with one row per record of the chunk, in file order.

    With `source_from_rows`, a `source` column already in the file (our own exports) wins over
    `source` row by row; `source` then only fills its gaps.
    """
    n_rows = chunk.n_rows
    frame = _empty_to_null(chunk.frame)
    mapped = _select_fields(frame, mapping, n_rows, source_file)
    fields = [_finish_field(mapped.get_column(name), mapping) for name in OPEN311_FIELDS]
    source_column = pl.repeat(source, n_rows, dtype=pl.String, eager=True).alias(SOURCE)
    if source_from_rows and SOURCE in frame.columns:
        source_column = _as_text(frame.get_column(SOURCE)).fill_null(source_column)
    unreadable = chunk.unreadable
    if unreadable is None:
        unreadable = pl.Series([None] * n_rows, dtype=pl.String)
    out = pl.DataFrame(
        [
            *fields,
            source_column.alias(SOURCE),
            pl.repeat(source_file, n_rows, dtype=pl.String, eager=True).alias(SOURCE_FILE),
            pl.int_range(chunk.start, chunk.start + n_rows, dtype=pl.Int64, eager=True).alias(
                SOURCE_POSITION
            ),
            unreadable.alias(UNREADABLE_RECORD),
            pl.repeat(chunk.guessed_encoding, n_rows, dtype=pl.String, eager=True).alias(
                GUESSED_ENCODING
            ),
        ]
    )
    table = out.to_arrow()
    arrays = [table.column(name).combine_chunks() for name in RAW_REQUEST.names]
    return pa.RecordBatch.from_arrays(arrays, schema=RAW_REQUEST)


def _empty_to_null(frame: pl.DataFrame) -> pl.DataFrame:
    """Empty text, and NaN in a typed float column, are "not given" in every format we read;
    make them null before mapping (NaN ids would otherwise all become the one id "NaN")."""
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    float_columns = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    if not text_columns and not float_columns:
        return frame
    return frame.with_columns(
        *(pl.when(pl.col(name).str.len_bytes() > 0).then(pl.col(name)).alias(name) for name in text_columns),
        *(pl.when(~pl.col(name).is_nan()).then(pl.col(name)).alias(name) for name in float_columns),
    )


def _select_fields(
    frame: pl.DataFrame, mapping: SourceMapping, n_rows: int, source_file: str
) -> pl.DataFrame:
    """Evaluate the mapping; fields without a (present) source column become null."""
    resolved = mapping.resolve(frame.columns)
    if frame.width == 0:
        return pl.DataFrame(
            {name: [None] * n_rows for name in OPEN311_FIELDS},
            schema=dict.fromkeys(OPEN311_FIELDS, pl.String),
        )
    exprs = [
        (pl.lit(None, pl.String) if expr is None else expr).alias(name)
        for name, expr in resolved.items()
    ]
    try:
        # with_columns (not select) so that all-literal rows still take the frame's height
        return frame.with_columns(exprs).select(OPEN311_FIELDS)
    except pl.exceptions.PolarsError as exc:
        raise SourceFormatError(f"cannot apply the column mapping to {source_file}: {exc}") from exc


def _finish_field(values: pl.Series, mapping: SourceMapping) -> pl.Series:
    name = values.name
    if name in TIMESTAMP_FIELDS:
        if isinstance(values.dtype, _TEMPORAL):
            return typed_to_iso_utc(values, mapping.zone)
        return text_to_iso_utc(_as_text(values), mapping.formats, mapping.zone)
    text = _as_text(values)
    if name in COORDINATE_FIELDS:
        # blank is "not given", but any other text is passed on exactly as written
        blank = text.str.strip_chars().str.len_bytes() == 0
        return text.zip_with(~blank.fill_null(False), pl.Series([None], dtype=pl.String))
    return text.zip_with(text.str.len_bytes() > 0, pl.Series([None], dtype=pl.String))


def _as_text(values: pl.Series) -> pl.Series:
    if values.dtype == pl.String:
        return values
    if values.dtype == pl.Binary:  # bytes that are not UTF-8 become U+FFFD, as in text files
        texts = [None if v is None else v.decode("utf-8", errors="replace") for v in values]
        return pl.Series(values.name, texts, dtype=pl.String)
    if isinstance(values.dtype, _TEMPORAL):
        return typed_as_text(values)  # polars panics formatting values far outside years 1-9999
    try:
        return values.cast(pl.String)
    except pl.exceptions.PolarsError as exc:
        raise SourceFormatError(
            f"column for field {values.name!r} has type {values.dtype}, which cannot be read as "
            "text; map a scalar column instead"
        ) from exc
