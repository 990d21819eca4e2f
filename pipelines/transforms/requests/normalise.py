"""NormaliseRequests: one spelling for every value, and the quirks of real exports made explicit.

Trims text, turns blank strings into nulls, maps the many status words cities use onto
open/closed, repairs mojibake (UTF-8 read as Windows-1252, as in NYC's export) only on the rows
that show its marks, stamps the local request date (the partition researchers filter on) and the
ingestion time, and flags quirks such as a request closed before it was made.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import apache_beam as beam
import ftfy
import polars as pl

from pipelines.transforms.guard import enrich_guarded
from pipelines.transforms.requests.quality_flags import with_quality_flags
from schemas import requests as rq
from schemas.requests import QualityFlag, Status

STEP = "normalise"  # the dead-letter stage of records this step cannot enrich

TEXT_FIELDS = (
    rq.STATUS, rq.STATUS_NOTES, rq.SERVICE_CODE, rq.SERVICE_NAME, rq.DESCRIPTION, rq.AGENCY_RESPONSIBLE, rq.ADDRESS,
)
MOJIBAKE_FIELDS = (rq.DESCRIPTION, rq.STATUS_NOTES, rq.ADDRESS, rq.SERVICE_NAME)
# Byte pairs that only appear when UTF-8 was decoded as Windows-1252 / Latin-1.
MOJIBAKE_MARKS = r"[ÃÂâÐÑ][\u0080-\u00BF\u2018-\u203A\u0152-\u02DC]"
CLOSED_WORDS = r"^(closed|close|resolved|completed|complete|done|fixed|закрыт[аоы]?|выполнен[аоы]?|решен[аоы]?)\b"
FUTURE_TOLERANCE = timedelta(days=1)
# a run of whitespace becomes one space: runs of two or more, and lone tabs, newlines, NBSPs, ...
# (`\s+` would also rewrite every single space, three times slower on a million texts)
WHITESPACE_TO_FOLD = r"\s{2,}|[^\S ]"


def repair_mojibake(column: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(repaired text, was-repaired flag); ftfy runs only on the few rows that show mojibake marks."""
    suspicious = column.str.contains(MOJIBAKE_MARKS).fill_null(False)
    if not suspicious.any():
        return column, suspicious
    fixed = column.to_list()
    for index in suspicious.arg_true().to_list():
        fixed[index] = ftfy.fix_text(fixed[index])
    repaired = pl.Series(column.name, fixed, dtype=pl.String)
    return repaired, suspicious & (repaired != column).fill_null(False)


def normalise_frame(frame: pl.DataFrame, city_timezone: str, ingested_at: datetime) -> pl.DataFrame:
    cleaned = frame.with_columns(
        pl.col(c).str.replace_all(WHITESPACE_TO_FOLD, " ").str.strip_chars().replace("", None).alias(c)
        for c in TEXT_FIELDS
    )
    repaired_any = pl.Series([False] * cleaned.height, dtype=pl.Boolean)
    for column in MOJIBAKE_FIELDS:
        repaired, flag = repair_mojibake(cleaned[column])
        cleaned = cleaned.with_columns(repaired.alias(column))
        repaired_any = repaired_any | flag

    status_text = pl.col(rq.STATUS).str.to_lowercase()
    is_closed = status_text.str.contains(CLOSED_WORDS).fill_null(False) | (
        status_text.is_null() & pl.col(rq.CLOSED_DATETIME).is_not_null()
    )
    now = ingested_at.astimezone(UTC)
    flagged = with_quality_flags(cleaned, [
        (pl.col(rq.CLOSED_DATETIME) < pl.col(rq.REQUESTED_DATETIME), QualityFlag.CLOSED_BEFORE_REQUESTED),
        (is_closed & pl.col(rq.CLOSED_DATETIME).is_null(), QualityFlag.CLOSED_WITHOUT_TIME),
        (pl.col(rq.DESCRIPTION).is_null(), QualityFlag.EMPTY_DESCRIPTION),
        (pl.col(rq.REQUESTED_DATETIME) > pl.lit(now + FUTURE_TOLERANCE), QualityFlag.FUTURE_REQUESTED),
        (pl.lit(repaired_any), QualityFlag.MOJIBAKE_REPAIRED),
    ])
    return flagged.with_columns(
        pl.when(is_closed).then(pl.lit(Status.CLOSED)).otherwise(pl.lit(Status.OPEN)).alias(rq.STATUS),
        pl.col(rq.REQUESTED_DATETIME).dt.convert_time_zone(city_timezone).dt.date().alias(rq.REQUEST_DATE),
        pl.lit(now).dt.cast_time_unit("us").alias(rq.INGESTED_AT),
        pl.lit(rq.SCHEMA_VERSION).alias(rq.SCHEMA_VERSION_COLUMN),
    )


class _NormaliseBatch(beam.DoFn):
    def __init__(self, city_timezone: str, ingested_at: datetime) -> None:
        self.city_timezone = city_timezone
        self.ingested_at = ingested_at

    def process(self, frame: pl.DataFrame):
        yield enrich_guarded(STEP, lambda rows: normalise_frame(rows, self.city_timezone, self.ingested_at), frame)


class NormaliseRequests(beam.PTransform):
    """Typed batches in, normalised batches out (same rows, one spelling per value).

    `ingested_at` is fixed per run, so every row of one run carries the same stamp.
    """

    def __init__(self, city_timezone: str, ingested_at: datetime | None = None) -> None:
        super().__init__()
        self.city_timezone = city_timezone
        self.ingested_at = ingested_at or datetime.now(UTC)

    def expand(self, frames):
        return frames | "NormaliseBatches" >> beam.ParDo(
            _NormaliseBatch(self.city_timezone, self.ingested_at)
        ).with_output_types(pl.DataFrame)
