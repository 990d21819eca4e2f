"""ValidateRequests: raw text batches -> typed request batches, and dead letters for the rest.

A record without an id or a readable requested time cannot be placed anywhere, so it becomes a
dead letter carrying its raw payload and a machine-readable reason. Everything else is kept, with
fixable quirks (an unreadable closed time, coordinates that are not numbers) turned into nulls and
recorded in `quality_flags`, never dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import apache_beam as beam
import polars as pl
import pyarrow as pa
from apache_beam.metrics import Metrics

from pipelines.transforms.requests.quality_flags import with_quality_flags
from plumbing.dead_letters import dead_letter_rows
from schemas import dead_letters as dl
from schemas import ledger
from schemas import requests as rq
from schemas.requests import QualityFlag

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"
WHOLE_SECONDS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEAD = "dead_letters"
STAGE_VALIDATE = "validate"
_REASON_COLUMN = "_reason"
_DETAIL_COLUMN = "_detail"
# Instants whose local date lies in the years 1-9999 in every time zone (offsets reach -12 h and
# +14 h): outside them a local date cannot be written (Python's datetime, the live store, the
# partition names), so normalising one such record used to abort the whole run.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)


def to_frame(batch: pa.RecordBatch | pa.Table | pl.DataFrame) -> pl.DataFrame:
    if isinstance(batch, pl.DataFrame):
        return batch
    return pl.from_arrow(batch)


def _blank(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def parse_timestamp(column: str) -> pl.Expr:
    """ISO 8601 text as a UTC instant (null where it is not one). The sources write whole
    seconds with a `Z` (`pipelines.sources.timestamps`), which polars' fixed-form parser reads
    four times faster than the general form; only what it leaves goes to the general one."""
    text = pl.col(column).str.strip_chars()
    whole_seconds = text.str.to_datetime(format=WHOLE_SECONDS_FORMAT, time_unit="us", strict=False)
    return pl.coalesce(
        whole_seconds.dt.replace_time_zone("UTC"),
        pl.when(whole_seconds.is_null()).then(text).str.to_datetime(
            format=ISO_FORMAT, time_unit="us", time_zone="UTC", strict=False
        ),
    )


def _parsed(column: str) -> str:
    return f"_parsed_{column}"


def _out_of_range(column: str) -> str:
    return f"_out_of_range_{column}"


def validate_frame(raw: pl.DataFrame, now: datetime,
                   formats_tried: str | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split one raw batch into (valid typed rows, dead letters).

    Every field is parsed once, into a temporary column, and both the reasons and the typed
    output read from there. `formats_tried` says what the source's timestamp formats were
    (`pipelines.sources.requests.timestamp_formats_tried`), for the detail of a requested time
    that none of them read.
    """
    unreadable = (
        pl.col(rq.UNREADABLE_RECORD).is_not_null()
        if rq.UNREADABLE_RECORD in raw.columns
        else pl.lit(False)
    )
    parsed = _parse_fields(raw)
    requested = pl.col(_parsed(rq.REQUESTED_DATETIME))
    missing_requested = _blank(rq.REQUESTED_DATETIME)
    missing_id = pl.col(_parsed(rq.SERVICE_REQUEST_ID)).is_null()
    out_of_range = pl.col(_out_of_range(rq.REQUESTED_DATETIME))
    reason = (
        pl.when(unreadable).then(pl.lit(dl.Reason.UNREADABLE_ROW))
        .when(missing_id).then(pl.lit(dl.Reason.MISSING_ID))
        .when(missing_requested).then(pl.lit(dl.Reason.MISSING_REQUESTED))
        .when(out_of_range).then(pl.lit(dl.Reason.REQUESTED_OUT_OF_RANGE))
        .when(requested.is_null()).then(pl.lit(dl.Reason.BAD_TIMESTAMP))
    )
    detail = (
        pl.when(unreadable).then(pl.lit("the source adapter could not read this record"))
        .when(missing_id).then(pl.lit("service_request_id is empty"))
        .when(missing_requested).then(pl.lit("requested_datetime is empty"))
        .when(out_of_range)
        .then(pl.format(
            "requested_datetime {} is outside the years 1-9999 (in UTC or in local time)",
            pl.col(rq.REQUESTED_DATETIME),
        ))
        .when(requested.is_null())
        .then(_unreadable_time_detail(formats_tried))
    )
    checked = parsed.with_columns(reason.alias(_REASON_COLUMN))
    bad = checked.filter(pl.col(_REASON_COLUMN).is_not_null()).with_columns(detail.alias(_DETAIL_COLUMN))
    good = checked.filter(pl.col(_REASON_COLUMN).is_null())
    dead = dead_letter_rows(bad, pl.col(_REASON_COLUMN), pl.col(_DETAIL_COLUMN), STAGE_VALIDATE, now)
    return _typed(good), dead


def _unreadable_time_detail(formats_tried: str | None) -> pl.Expr:
    if formats_tried is None:
        return pl.format("requested_datetime {} is not a readable time", pl.col(rq.REQUESTED_DATETIME))
    # the formats go in as a literal: their `%` and braces are text, not a template
    return pl.format(f'{rq.REQUESTED_DATETIME} "{{}}" does not match {{}}', pl.col(rq.REQUESTED_DATETIME),
                     pl.lit(formats_tried))


def _parse_fields(raw: pl.DataFrame) -> pl.DataFrame:
    """Parsed timestamps (null where out of range, which a flag column marks), numbers, ids."""
    parsed = raw.with_columns(
        *(parse_timestamp(c).alias(_parsed(c)) for c in rq.TIMESTAMP_FIELDS),
        *(
            pl.col(c).str.strip_chars().cast(pl.Float64, strict=False).alias(_parsed(c))
            for c in rq.COORDINATE_FIELDS
        ),
        pl.col(rq.SERVICE_REQUEST_ID).str.strip_chars().replace("", None).alias(_parsed(rq.SERVICE_REQUEST_ID)),
    )
    in_range = {c: pl.col(_parsed(c)).is_between(pl.lit(EARLIEST), pl.lit(LATEST)) for c in rq.TIMESTAMP_FIELDS}
    return parsed.with_columns(
        *((pl.col(_parsed(c)).is_not_null() & ~in_range[c]).alias(_out_of_range(c)) for c in rq.TIMESTAMP_FIELDS),
    ).with_columns(
        *(pl.when(in_range[c]).then(pl.col(_parsed(c))).alias(_parsed(c)) for c in rq.TIMESTAMP_FIELDS),
    )


def _typed(good: pl.DataFrame) -> pl.DataFrame:
    """Parsed values replace the text; text that did not parse leaves a flag, never a silent null."""
    fields = (*rq.TIMESTAMP_FIELDS, *rq.COORDINATE_FIELDS)
    marks = [(pl.col(_parsed(c)).is_null() & ~_blank(c) & ~_flagged_out_of_range(good, c), f"unparseable_{c}")
             for c in fields]
    marks += [(pl.col(_out_of_range(c)), f"out_of_range_{c}") for c in rq.TIMESTAMP_FIELDS]
    if rq.GUESSED_ENCODING in good.columns:
        marks.append((pl.col(rq.GUESSED_ENCODING).is_not_null(), QualityFlag.DECODED_BY_GUESS))
    frame = with_quality_flags(good, marks, keep=False).with_columns(
        *(pl.col(_parsed(c)).alias(c) for c in (*fields, rq.SERVICE_REQUEST_ID)),
    )
    return pl.from_arrow(frame.select(rq.VALID_REQUEST.names).to_arrow().cast(rq.VALID_REQUEST))


def _flagged_out_of_range(frame: pl.DataFrame, column: str) -> pl.Expr:
    name = _out_of_range(column)
    return pl.col(name) if name in frame.columns else pl.lit(False)


class _ValidateBatch(beam.DoFn):
    def __init__(self, formats_tried: str | None = None) -> None:
        self.formats_tried = formats_tried
        self.valid = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_VALID)
        self.dead = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.DEAD_LETTERS_VALIDATE)

    def process(self, batch):
        valid, dead = validate_frame(to_frame(batch), datetime.now(UTC), self.formats_tried)
        self.valid.inc(valid.height)
        self.dead.inc(dead.height)
        if valid.height:
            yield valid
        if dead.height:
            yield beam.pvalue.TaggedOutput(DEAD, dead)


class ValidateRequests(beam.PTransform):
    """Raw batches in; a main output of typed batches and a `dead_letters` output.

    `formats_tried` (the source's timestamp formats, in words) goes into the detail of each
    record whose requested time none of them read, so the dead letter names the format to fix.
    """

    def __init__(self, formats_tried: str | None = None) -> None:
        super().__init__()
        self.formats_tried = formats_tried

    def expand(self, raw_batches):
        return raw_batches | "ValidateBatches" >> beam.ParDo(_ValidateBatch(self.formats_tried)).with_output_types(pl.DataFrame).with_outputs(
            DEAD, main="valid"
        )
