"""Aggregate tables published next to the enriched requests."""

from __future__ import annotations

import pyarrow as pa

from schemas.requests import CATEGORY, DISTRICT_ID, DISTRICT_NAME, PARENT_NAME, SCHEMA_VERSION

DAY = "date"
NEW = "new"
CLOSED = "closed"
BACKLOG = "open_backlog"
MEDIAN_HOURS_TO_CLOSE = "median_hours_to_close"
SHARE_CLOSED_WITHIN_SLA = "share_closed_within_sla"
CLOSED_WITH_SLA_OUTCOME = "closed_with_sla_outcome"

REQUEST_DAILY = pa.schema(
    [
        pa.field(DAY, pa.date32(), nullable=False),
        pa.field(DISTRICT_ID, pa.large_string()),
        pa.field(DISTRICT_NAME, pa.large_string()),
        pa.field(PARENT_NAME, pa.large_string()),
        pa.field(CATEGORY, pa.large_string()),
        pa.field(NEW, pa.int64(), nullable=False),
        pa.field(CLOSED, pa.int64(), nullable=False),
        pa.field(BACKLOG, pa.int64(), nullable=False),
        pa.field(MEDIAN_HOURS_TO_CLOSE, pa.float64()),
        pa.field(CLOSED_WITH_SLA_OUTCOME, pa.int64(), nullable=False),
        pa.field(SHARE_CLOSED_WITHIN_SLA, pa.float64()),
    ],
    metadata={"urbanpulse.schema": "request_daily", "urbanpulse.version": SCHEMA_VERSION},
)
# Aggregation key of request_daily (district names ride along with the id).
REQUEST_DAILY_KEY: tuple[str, ...] = (DISTRICT_ID, CATEGORY)
