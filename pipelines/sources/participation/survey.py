"""Survey and e-vote answer files (CSV, JSON Lines, Parquet) -> raw answers, as text.

One row per respondent x question, under the names of `schemas.surveys.RAW_ANSWER_FIELDS`,
with the file's position of every row (`source_file`, `source_position`), what could not be
read (`unreadable_record`) and a guessed encoding. The format readers are the request
stream's (`pipelines.sources.requests`: multi-line quoted CSV fields, unreadable lines kept,
encodings sniffed, typed Parquet), so a survey export gets the same care; the mapping
(`survey_mapping`) says which column is which. Times become ISO 8601 UTC text where one of the
mapping's formats parses them and keep their text otherwise, for validation to dead-letter.
Nothing here judges an answer: validation does (`pipelines.transforms.participation.survey`).

`read_population` reads the optional population table used for weighting:
`district?,age_band,sex,population` (a blank age band or sex makes the row a margin).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pipelines.sources.encoding import open_text, text_encoding
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.limits import MAX_RECORD_CHARS
from pipelines.sources.participation.survey_mapping import FIELDS, SurveyMapping
from pipelines.sources.requests.chunks import RawChunk, batched_records
from pipelines.sources.requests.csv_file import read_csv_chunks
from pipelines.sources.requests.json_records import decode_record
from pipelines.sources.requests.mapping import SourceMapping
from pipelines.sources.requests.parquet_file import read_parquet_chunks
from pipelines.sources.timestamps import text_to_iso_utc, typed_as_text, typed_to_iso_utc
from schemas import surveys as sv
from schemas.requests import (
    GUESSED_ENCODING,
    SOURCE,
    SOURCE_FILE,
    SOURCE_POSITION,
    UNREADABLE_RECORD,
)

DEFAULT_ROWS = 250_000
POPULATION_COLUMNS = ("district", "age_band", "sex", "population")
_TEMPORAL = (pl.Date, pl.Datetime)


def read_survey(path: Path, mapping: SurveyMapping, fmt: str | None = None, rows: int = DEFAULT_ROWS,
                timezone: str = "UTC") -> Iterator[pl.DataFrame]:
    """Raw answer frames of at most `rows` rows, in file order; `timezone` is the city's, for
    times without an offset when the mapping names none. Raises `SourceFormatError` for a
    problem with the whole file (format, missing column, unreadable Parquet)."""
    path = Path(path)
    kind = mapping.format_of(path, fmt)
    checked = False
    for chunk in _chunks(path, kind, rows, mapping):
        if not checked and chunk.frame.width and kind != "jsonl":
            mapping.check_columns(set(chunk.frame.columns), str(path))
        checked = True
        yield conform_answers(chunk, mapping, str(path), mapping.timezone or timezone)


def _chunks(path: Path, kind: str, rows: int, mapping: SurveyMapping) -> Iterator[RawChunk]:
    reader = SourceMapping(separator=mapping.separator or ("\t" if path.suffix.lower() == ".tsv" else None),
                           encoding=mapping.encoding)
    if kind == "csv":
        yield from read_csv_chunks(path, rows, reader)
    elif kind == "parquet":
        yield from read_parquet_chunks(path, rows, reader)
    else:
        yield from _jsonl_chunks(path, rows, mapping)


def _jsonl_chunks(path: Path, rows: int, mapping: SurveyMapping) -> Iterator[RawChunk]:
    """JSON Lines: one answer object per line; a line that is not one is an unreadable row."""
    try:
        encoding = text_encoding(path, mapping.encoding)
        handle = open_text(path, encoding)
    except OSError as exc:
        raise SourceFormatError(f"cannot open JSON Lines file {path}: {exc}") from exc
    with handle:
        items = (decode_record(text, chars) for text, chars in _lines(handle) if text.strip())
        for chunk in batched_records(items, rows, mapping.read_columns()):
            yield RawChunk(chunk.frame, chunk.start, chunk.unreadable, chunk.other_columns, encoding.guess)


def _lines(handle) -> Iterator[tuple[str, int]]:
    """(line, its full length): a line longer than `MAX_RECORD_CHARS` is kept only in part."""
    while line := handle.readline(MAX_RECORD_CHARS):
        if line.endswith("\n") or len(line) < MAX_RECORD_CHARS:
            yield line.removesuffix("\n"), len(line.removesuffix("\n"))
            continue
        total = len(line)
        while (rest := handle.readline(MAX_RECORD_CHARS)) and not rest.endswith("\n"):
            total += len(rest)
        yield line, total + len(rest.removesuffix("\n"))


def conform_answers(chunk: RawChunk, mapping: SurveyMapping, source_file: str, timezone: str) -> pl.DataFrame:
    """The chunk's rows as raw answers: one text column per field (null where the file has
    none or left it empty), times in ISO 8601 UTC where they parse, and provenance."""
    frame, n = chunk.frame, chunk.n_rows
    fields = [_field(frame, mapping, name, n).alias(column) for name, column in FIELDS.items()]
    out = pl.DataFrame(fields) if fields else pl.DataFrame()
    if mapping.question and sv.QUESTION_ID in out.columns:
        out = out.with_columns(pl.col(sv.QUESTION_ID).fill_null(mapping.question))
    time = out[sv.SUBMITTED_AT]
    if isinstance(frame.schema.get(mapping.column("time")), _TEMPORAL):
        time = typed_to_iso_utc(frame[mapping.column("time")], timezone).alias(sv.SUBMITTED_AT)
    else:
        time = text_to_iso_utc(time, mapping.timestamp_formats, timezone)
    unreadable = chunk.unreadable if chunk.unreadable is not None else pl.Series([None] * n, dtype=pl.String)
    return out.with_columns(
        time.alias(sv.SUBMITTED_AT),
        pl.lit(mapping.source).alias(SOURCE),
        pl.lit(source_file).alias(SOURCE_FILE),
        pl.int_range(chunk.start, chunk.start + n, dtype=pl.Int64).alias(SOURCE_POSITION),
        unreadable.alias(UNREADABLE_RECORD),
        pl.lit(chunk.guessed_encoding, pl.String).alias(GUESSED_ENCODING),
    )


def _field(frame: pl.DataFrame, mapping: SurveyMapping, name: str, n: int) -> pl.Series:
    """One field as text: its column (empty text null), the ranked columns joined, or nulls."""
    if name == "answer" and mapping.ranked_columns:
        parts = [_text(frame[c]) for c in mapping.ranked_columns if c in frame.columns]
        if not parts:
            return pl.Series([None] * n, dtype=pl.String)
        joined = pl.DataFrame(parts).select(pl.concat_str(pl.all(), separator=mapping.ranked_separator,
                                                          ignore_nulls=True)).to_series()
        return _text(joined)
    column = mapping.column(name)
    if column not in frame.columns:
        return pl.Series([None] * n, dtype=pl.String)
    return _text(frame[column])


def _text(values: pl.Series) -> pl.Series:
    """Any column as text: typed values as polars writes them, bytes decoded, '' as null."""
    if values.dtype == pl.Binary:
        values = pl.Series(values.name, [None if v is None else v.decode("utf-8", "replace") for v in values],
                           dtype=pl.String)
    elif isinstance(values.dtype, _TEMPORAL):
        values = typed_as_text(values)
    elif values.dtype != pl.String:
        try:
            values = values.cast(pl.String)
        except pl.exceptions.PolarsError as exc:
            raise SourceFormatError(f"column {values.name!r} has type {values.dtype}, which cannot be read as "
                                    "text; map a scalar column instead") from exc
    stripped = values.str.strip_chars()
    return stripped.zip_with(stripped.str.len_bytes() > 0, pl.Series([None], dtype=pl.String))


def read_population(path: Path) -> pl.DataFrame:
    """The population table as text columns `district`, `age_band`, `sex` (null where blank or
    absent) and `population` (a number); raises `SourceFormatError` saying what is wrong."""
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceFormatError(f"cannot read the population table {path}: {exc}") from exc
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    missing = [c for c in POPULATION_COLUMNS[1:] if c not in frame.columns]
    if missing:
        raise SourceFormatError(f"population table {path} has no column {missing[0]!r}; it needs "
                                "district (optional), age_band, sex and population")
    columns = [_text(frame[c]) if c in frame.columns else pl.Series(c, [None] * frame.height, dtype=pl.String)
               for c in POPULATION_COLUMNS[:3]]
    people = frame["population"].str.strip_chars().cast(pl.Float64, strict=False)
    bad = people.is_null() | people.is_nan() | (people < 0)
    if bad.any():
        line = int(bad.arg_true()[0]) + 2
        raise SourceFormatError(f"population table {path}, line {line}: population must be a number of at least 0")
    return pl.DataFrame([*columns, people.alias("population")])
