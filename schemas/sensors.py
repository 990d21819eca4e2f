"""Sensor observations, long format (OGC SensorThings vocabulary: datastream, phenomenon time)."""

from __future__ import annotations

import pyarrow as pa

from schemas.requests import DISTRICT_ID, H3_CELL, LAT, LONG, SCHEMA_VERSION, SOURCE, UTC_TS

SENSOR_ID = "sensor_id"
OBSERVED_PROPERTY = "observed_property"
UNIT = "unit"
PHENOMENON_TIME = "phenomenon_time"
RESULT = "result"
RESULT_TEXT = "result_text"

SENSOR_OBSERVATION = pa.schema(
    [
        pa.field(SENSOR_ID, pa.large_string(), nullable=False),
        pa.field(OBSERVED_PROPERTY, pa.large_string(), nullable=False),
        pa.field(UNIT, pa.large_string()),
        pa.field(PHENOMENON_TIME, UTC_TS, nullable=False),
        pa.field(RESULT, pa.float64()),
        pa.field(RESULT_TEXT, pa.large_string()),
        pa.field(LAT, pa.float64()),
        pa.field(LONG, pa.float64()),
        pa.field(DISTRICT_ID, pa.large_string()),
        pa.field(H3_CELL, pa.large_string()),
        pa.field(SOURCE, pa.large_string(), nullable=False),
    ],
    metadata={"urbanpulse.schema": "sensor_observation", "urbanpulse.version": SCHEMA_VERSION},
)
