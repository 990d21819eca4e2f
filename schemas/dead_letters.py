"""Dead letters: a record that could not become a request row, with the reason and the raw payload."""

from __future__ import annotations

import pyarrow as pa

from schemas.requests import SCHEMA_VERSION, SOURCE, SOURCE_FILE, SOURCE_POSITION, UTC_TS

REASON = "reason"
DETAIL = "detail"
RAW_PAYLOAD = "raw_payload"
FAILED_AT = "failed_at"
STAGE = "stage"
# Carried on a row that a step after validation could not enrich, until a sink turns it into a
# dead letter (`plumbing.dead_letters.split_enrich_failures`); never published.
ENRICH_FAILED_STEP = "_enrich_failed_step"
ENRICH_FAILED_ERROR = "_enrich_failed_error"

DEAD_LETTER = pa.schema(
    [
        pa.field(SOURCE, pa.large_string(), nullable=False),
        pa.field(SOURCE_FILE, pa.large_string(), nullable=False),
        pa.field(SOURCE_POSITION, pa.int64(), nullable=False),
        pa.field(STAGE, pa.large_string(), nullable=False),
        pa.field(REASON, pa.large_string(), nullable=False),
        pa.field(DETAIL, pa.large_string()),
        pa.field(RAW_PAYLOAD, pa.large_string()),
        pa.field(FAILED_AT, UTC_TS, nullable=False),
    ],
    metadata={"urbanpulse.schema": "dead_letter", "urbanpulse.version": SCHEMA_VERSION},
)


class Reason:
    """Machine-readable dead-letter reasons."""

    MISSING_ID = "missing_service_request_id"
    MISSING_REQUESTED = "missing_requested_datetime"
    BAD_TIMESTAMP = "unparseable_requested_datetime"
    REQUESTED_OUT_OF_RANGE = "requested_datetime_out_of_range"  # outside the years 1-9999
    UNREADABLE_ROW = "unreadable_row"
    TOO_LATE = "too_late"
    ENRICH_FAILED = "enrich_failed"  # a step after validation raised on this record (stage = the step)
