"""Survey and e-voting answers (one row per participant x question or ballot x project)."""

from __future__ import annotations

import pyarrow as pa

from schemas.requests import DISTRICT_ID, SCHEMA_VERSION, SOURCE, UTC_TS

SURVEY_ID = "survey_id"
RESPONSE_ID = "response_id"
PARTICIPANT_ID = "participant_id"
QUESTION_ID = "question_id"
ANSWER = "answer"
ANSWER_WEIGHT = "answer_weight"
SUBMITTED_DATETIME = "submitted_datetime"
PARTICIPANT_AGE = "participant_age"
PARTICIPANT_SEX = "participant_sex"

SURVEY_RESPONSE = pa.schema(
    [
        pa.field(SURVEY_ID, pa.large_string(), nullable=False),
        pa.field(RESPONSE_ID, pa.large_string(), nullable=False),
        pa.field(PARTICIPANT_ID, pa.large_string(), nullable=False),
        pa.field(QUESTION_ID, pa.large_string(), nullable=False),
        pa.field(ANSWER, pa.large_string()),
        pa.field(ANSWER_WEIGHT, pa.float64()),
        pa.field(SUBMITTED_DATETIME, UTC_TS),
        pa.field(PARTICIPANT_AGE, pa.int16()),
        pa.field(PARTICIPANT_SEX, pa.large_string()),
        pa.field(DISTRICT_ID, pa.large_string()),
        pa.field(SOURCE, pa.large_string(), nullable=False),
    ],
    metadata={"urbanpulse.schema": "survey_response", "urbanpulse.version": SCHEMA_VERSION},
)
