"""SLA breach risk: for every open request, the probability that it misses its due time.

Published as `datasets/sla_breach_risk/city=NAME/part-0.parquet` (one file per city, recomputed in
full from one snapshot of the city's requests), read by the feed at `/api/v1/requests/sla-risk`.
"""

from __future__ import annotations

import pyarrow as pa

from schemas import requests as rq

SLA_SCHEMA_VERSION = "1.0.0"
BREACH_PROBABILITY = "breach_probability"  # calibrated P(closed after sla_due_datetime)
ALREADY_OVERDUE = "already_overdue"  # open past its due time at `as_of`: the probability is 1
BACKLOG = "backlog"  # open requests of the same department when this one came in
AS_OF = "as_of"  # the snapshot time the risk was computed for
RISK_MODEL = "risk_model"  # name and version of the model that scored it

SLA_BREACH_RISK = pa.schema(
    [
        pa.field(rq.SERVICE_REQUEST_ID, pa.large_string(), nullable=False),
        pa.field(rq.CATEGORY, pa.large_string()),
        pa.field(rq.DEPARTMENT, pa.large_string()),
        pa.field(rq.DISTRICT_ID, pa.large_string()),
        pa.field(rq.REQUESTED_DATETIME, pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field(rq.SLA_DUE_DATETIME, pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field(BACKLOG, pa.int64(), nullable=False),
        pa.field(BREACH_PROBABILITY, pa.float64(), nullable=False),
        pa.field(ALREADY_OVERDUE, pa.bool_(), nullable=False),
        pa.field(AS_OF, pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field(RISK_MODEL, pa.large_string(), nullable=False),
        pa.field(rq.SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False),
    ],
    metadata={"urbanpulse.schema": "sla_breach_risk", "urbanpulse.version": SLA_SCHEMA_VERSION},
)

SLA_DESCRIPTIONS = {
    BREACH_PROBABILITY: "Calibrated probability that this open request is closed after its SLA due time (model "
    "trained on the city's closed history, temporal split; see the model card).",
    ALREADY_OVERDUE: "Open past its due time when scored (the probability is then 1).",
    BACKLOG: "Open requests of the same department at the moment this request came in.",
    AS_OF: "The time the open requests were scored for (the newest request time of the snapshot).",
    RISK_MODEL: "Name and version of the SLA risk model.",
}
