"""Across streams: citizen requests set against sensor readings and district populations.

`REQUEST_SENSOR_CONTEXT`: one row per environmental request (a category mapped to sensor
parameters, `models.cross.context`) with the nearest station, the best supporting anomaly of
a station in range and `corroborated`; `reason` says why a request is not corroborated.
`REQUEST_RATE`: requests per 1,000 residents per district and local day (null when the
district's population is unknown).
"""

from __future__ import annotations

import pyarrow as pa

from schemas.requests import (
    CATEGORY,
    DISTRICT_ID,
    DISTRICT_NAME,
    REQUEST_DATE,
    REQUESTED_DATETIME,
    SCHEMA_VERSION_COLUMN,
    SERVICE_REQUEST_ID,
    UTC_TS,
)
from schemas.sensors import PARAMETER

CROSS_SCHEMA_VERSION = "1.0.0"

# --- request_sensor_context ------------------------------------------------------------------
NEAREST_STATION_ID = "nearest_station_id"  # nearest station with coordinates, in range or not
DISTANCE_M = "distance_m"  # great-circle distance to it, metres
ANOMALY_STATION_ID = "anomaly_station_id"  # the station of the supporting anomaly
ANOMALY_HOUR = "anomaly_hour"  # UTC start of the anomalous hour
ANOMALY_VALUE = "anomaly_value"  # its valid hourly mean
THRESHOLD = "threshold"  # the value it exceeded
ANOMALY_RULE = "anomaly_rule"  # how anomalies were found (AnomalyRule)
CORROBORATED = "corroborated"
STATIONS_IN_RANGE = "stations_in_range"
REASON = "reason"  # null when corroborated


class AnomalyRule:
    """An anomaly is a valid hourly mean strictly above a threshold: the standard's value
    (`STANDARD`, the default) or the station's own 95th percentile of the trailing 30 days
    (`STATION_P95`)."""

    STANDARD = "standard"
    STATION_P95 = "station_p95"
    ALL = (STANDARD, STATION_P95)


class ContextReason:
    """Why an environmental request is not corroborated."""

    NO_LOCATION = "no_location"  # the request has no coordinates
    NO_STATION_IN_RANGE = "no_station_in_range"
    NO_SENSOR_DATA = "no_sensor_data"  # stations in range, no valid hour of the parameters in the window
    NO_ANOMALY = "no_anomaly"  # valid hours in the window, none above its threshold
    ALL = (NO_LOCATION, NO_STATION_IN_RANGE, NO_SENSOR_DATA, NO_ANOMALY)


# --- request_rates -----------------------------------------------------------------------------
REQUESTS = "requests"  # requests filed that local day in the district
POPULATION = "population"  # residents (city pack)
REQUESTS_PER_1000 = "requests_per_1000"  # requests / population * 1000; null when population unknown


def _meta(name: str) -> dict[str, str]:
    return {"urbanpulse.schema": name, "urbanpulse.version": CROSS_SCHEMA_VERSION}


REQUEST_SENSOR_CONTEXT = pa.schema(
    [
        pa.field(SERVICE_REQUEST_ID, pa.large_string(), nullable=False),
        pa.field(CATEGORY, pa.large_string()),
        pa.field(REQUESTED_DATETIME, UTC_TS, nullable=False),
        pa.field(REQUEST_DATE, pa.date32()),
        pa.field(DISTRICT_ID, pa.large_string()),
        pa.field(NEAREST_STATION_ID, pa.large_string()),
        pa.field(DISTANCE_M, pa.float64()),
        pa.field(STATIONS_IN_RANGE, pa.int64(), nullable=False),
        pa.field(PARAMETER, pa.large_string()),
        pa.field(ANOMALY_STATION_ID, pa.large_string()),
        pa.field(ANOMALY_HOUR, UTC_TS),
        pa.field(ANOMALY_VALUE, pa.float64()),
        pa.field(THRESHOLD, pa.float64()),
        pa.field(ANOMALY_RULE, pa.large_string(), nullable=False),
        pa.field(CORROBORATED, pa.bool_(), nullable=False),
        pa.field(REASON, pa.large_string()),
        pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False),
    ],
    metadata=_meta("request_sensor_context"),
)

REQUEST_RATE = pa.schema(
    [
        pa.field(DISTRICT_ID, pa.large_string()),
        pa.field(DISTRICT_NAME, pa.large_string()),
        pa.field(REQUEST_DATE, pa.date32(), nullable=False),
        pa.field(REQUESTS, pa.int64(), nullable=False),
        pa.field(POPULATION, pa.float64()),
        pa.field(REQUESTS_PER_1000, pa.float64()),
        pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False),
    ],
    metadata=_meta("request_rate"),
)

# column -> meaning, for the data dictionary (columns shared with `requests` keep theirs)
CROSS_DESCRIPTIONS = {
    NEAREST_STATION_ID: "Nearest sensor station with coordinates (in range or not).",
    DISTANCE_M: "Great-circle distance from the request to the nearest station, metres.",
    STATIONS_IN_RANGE: "Stations within the run's distance (default 2,000 m).",
    PARAMETER: "Parameter of the supporting anomaly (pm25, pm10, no2, so2, o3, noise_laeq).",
    ANOMALY_STATION_ID: "Station of the supporting anomaly.",
    ANOMALY_HOUR: "UTC start of the anomalous hour (within hours_before/hours_after of the request).",
    ANOMALY_VALUE: "Valid hourly mean of that hour.",
    THRESHOLD: "Value it exceeded: the standard's (rule standard) or the station's trailing 30-day p95.",
    ANOMALY_RULE: "standard | station_p95.",
    CORROBORATED: "A valid hourly mean above its threshold at a station in range within the window.",
    REASON: "Why not corroborated: no_location | no_station_in_range | no_sensor_data | no_anomaly.",
    REQUESTS: "Requests filed that local day in the district.",
    POPULATION: "Residents of the district (city pack); null when unknown.",
    REQUESTS_PER_1000: "requests / population * 1000; null when the population is unknown.",
}

CONTEXT_COLUMNS = tuple(REQUEST_SENSOR_CONTEXT.names)
RATE_COLUMNS = tuple(REQUEST_RATE.names)
