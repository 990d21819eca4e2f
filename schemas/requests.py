"""Citizen requests: raw (as a source delivers them) and enriched (as researchers read them).

Field names follow Open311 GeoReport v2 (`service_request_id`, `requested_datetime`, `lat`,
`long`, ...). Every other module imports the names from here instead of typing them.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "1.0.0"

UTC_TS = pa.timestamp("us", tz="UTC")

# --- Open311 vocabulary ------------------------------------------------------------------
SERVICE_REQUEST_ID = "service_request_id"
STATUS = "status"
STATUS_NOTES = "status_notes"
SERVICE_CODE = "service_code"
SERVICE_NAME = "service_name"
DESCRIPTION = "description"
AGENCY_RESPONSIBLE = "agency_responsible"
REQUESTED_DATETIME = "requested_datetime"
UPDATED_DATETIME = "updated_datetime"
EXPECTED_DATETIME = "expected_datetime"
CLOSED_DATETIME = "closed_datetime"
ADDRESS = "address"
LAT = "lat"
LONG = "long"
SOURCE = "source"

# --- provenance of a raw record ----------------------------------------------------------
SOURCE_FILE = "source_file"
SOURCE_POSITION = "source_position"
# Original text of a record an adapter could not read at all (malformed JSON line, ...).
UNREADABLE_RECORD = "unreadable_record"
# Text encoding an adapter guessed for the record's file (null: UTF-8, or the encoding was given).
GUESSED_ENCODING = "guessed_encoding"

# --- enrichment --------------------------------------------------------------------------
LANGUAGE = "language"
CATEGORY = "category"
CATEGORY_CONFIDENCE = "category_confidence"
DEPARTMENT = "department"
NEEDS_REVIEW = "needs_review"
MODEL_VERSION = "model_version"
DISTRICT_ID = "district_id"
DISTRICT_NAME = "district_name"
PARENT_ID = "parent_id"
PARENT_NAME = "parent_name"
H3_CELL = "h3_cell"
GEOCODE_PRECISION = "geocode_precision"
GEOCODE_ISSUE = "geocode_issue"
DUPLICATE_OF = "duplicate_of"
SLA_DAYS = "sla_days"
SLA_DUE_DATETIME = "sla_due_datetime"
HOURS_TO_CLOSE = "hours_to_close"
CLOSED_WITHIN_SLA = "closed_within_sla"
QUALITY_FLAGS = "quality_flags"
INGESTED_AT = "ingested_at"
REQUEST_DATE = "date"
SCHEMA_VERSION_COLUMN = "schema_version"
GEOCODE_SCORE = "geocode_score"
REPORT_CLUSTER_ID = "report_cluster_id"
# Radius in metres an address-derived point stands for (a street's or a locality's extent); forward
# geocoding output only, not a published column.
GEOCODE_EXTENT_M = "geocode_extent_m"

# The Open311 fields every adapter maps into; all carried as source text until validation.
OPEN311_FIELDS: tuple[str, ...] = (
    SERVICE_REQUEST_ID,
    STATUS,
    STATUS_NOTES,
    SERVICE_CODE,
    SERVICE_NAME,
    DESCRIPTION,
    AGENCY_RESPONSIBLE,
    REQUESTED_DATETIME,
    UPDATED_DATETIME,
    EXPECTED_DATETIME,
    CLOSED_DATETIME,
    ADDRESS,
    LAT,
    LONG,
)
TIMESTAMP_FIELDS: tuple[str, ...] = (
    REQUESTED_DATETIME,
    UPDATED_DATETIME,
    EXPECTED_DATETIME,
    CLOSED_DATETIME,
)
COORDINATE_FIELDS: tuple[str, ...] = (LAT, LONG)

# Raw: every Open311 field as the text the source delivered, plus where it came from.
RAW_REQUEST = pa.schema(
    [pa.field(name, pa.large_string()) for name in OPEN311_FIELDS]
    + [
        pa.field(SOURCE, pa.large_string(), nullable=False),
        pa.field(SOURCE_FILE, pa.large_string(), nullable=False),
        pa.field(SOURCE_POSITION, pa.int64(), nullable=False),
        pa.field(UNREADABLE_RECORD, pa.large_string()),
        pa.field(GUESSED_ENCODING, pa.large_string()),
    ],
    metadata={"urbanpulse.schema": "raw_request", "urbanpulse.version": SCHEMA_VERSION},
)

# Typed after validation and normalisation, before enrichment.
VALID_REQUEST = pa.schema(
    [
        pa.field(SERVICE_REQUEST_ID, pa.large_string(), nullable=False),
        pa.field(STATUS, pa.large_string()),
        pa.field(STATUS_NOTES, pa.large_string()),
        pa.field(SERVICE_CODE, pa.large_string()),
        pa.field(SERVICE_NAME, pa.large_string()),
        pa.field(DESCRIPTION, pa.large_string()),
        pa.field(AGENCY_RESPONSIBLE, pa.large_string()),
        pa.field(REQUESTED_DATETIME, UTC_TS, nullable=False),
        pa.field(UPDATED_DATETIME, UTC_TS),
        pa.field(EXPECTED_DATETIME, UTC_TS),
        pa.field(CLOSED_DATETIME, UTC_TS),
        pa.field(ADDRESS, pa.large_string()),
        pa.field(LAT, pa.float64()),
        pa.field(LONG, pa.float64()),
        pa.field(SOURCE, pa.large_string(), nullable=False),
        pa.field(SOURCE_FILE, pa.large_string(), nullable=False),
        pa.field(SOURCE_POSITION, pa.int64(), nullable=False),
        pa.field(QUALITY_FLAGS, pa.list_(pa.large_string())),
    ],
    metadata={"urbanpulse.schema": "valid_request", "urbanpulse.version": SCHEMA_VERSION},
)

ENRICHMENT_FIELDS: tuple[pa.Field, ...] = (
    pa.field(LANGUAGE, pa.large_string()),
    pa.field(CATEGORY, pa.large_string()),
    pa.field(CATEGORY_CONFIDENCE, pa.float64()),
    pa.field(DEPARTMENT, pa.large_string()),
    pa.field(NEEDS_REVIEW, pa.bool_()),
    pa.field(MODEL_VERSION, pa.large_string()),
    pa.field(DISTRICT_ID, pa.large_string()),
    pa.field(DISTRICT_NAME, pa.large_string()),
    pa.field(PARENT_ID, pa.large_string()),
    pa.field(PARENT_NAME, pa.large_string()),
    pa.field(H3_CELL, pa.large_string()),
    pa.field(GEOCODE_PRECISION, pa.large_string()),
    pa.field(GEOCODE_ISSUE, pa.large_string()),
    pa.field(DUPLICATE_OF, pa.large_string()),
    pa.field(SLA_DAYS, pa.float64()),
    pa.field(SLA_DUE_DATETIME, UTC_TS),
    pa.field(HOURS_TO_CLOSE, pa.float64()),
    pa.field(CLOSED_WITHIN_SLA, pa.bool_()),
    pa.field(INGESTED_AT, UTC_TS, nullable=False),
    pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False),
    pa.field(REQUEST_DATE, pa.date32(), nullable=False),
    pa.field(GEOCODE_SCORE, pa.float64()),
    pa.field(REPORT_CLUSTER_ID, pa.large_string()),
)

ENRICHED_REQUEST = pa.schema(
    list(VALID_REQUEST) + list(ENRICHMENT_FIELDS),
    metadata={"urbanpulse.schema": "enriched_request", "urbanpulse.version": SCHEMA_VERSION},
)

# Partition column of datasets/requests/ (hive style: date=YYYY-MM-DD).
REQUEST_PARTITION = REQUEST_DATE


class GeocodePrecision:
    """How precisely a request's location is known (`geocode_precision`)."""

    POINT = "point"  # reported coordinates inside the city
    HOUSE = "house"
    INTERPOLATED = "interpolated"
    INTERSECTION = "intersection"  # the crossing of two named streets
    STREET = "street"
    LOCALITY = "locality"  # a town or settlement of the city named without a known street
    DISTRICT = "district"
    NONE = "none"


class GeocodeIssue:
    """Why a request could not be placed in a district (`geocode_issue`)."""

    MISSING = "missing_coordinates"
    NULL_ISLAND = "null_island"
    OUT_OF_RANGE = "coordinates_out_of_range"
    OUTSIDE_CITY = "outside_city"


class QualityFlag:
    """Quirks kept on a valid record (`quality_flags`), never silently fixed."""

    CLOSED_BEFORE_REQUESTED = "closed_before_requested"
    CLOSED_WITHOUT_TIME = "closed_status_without_closed_datetime"
    MOJIBAKE_REPAIRED = "mojibake_repaired"
    EMPTY_DESCRIPTION = "empty_description"
    FUTURE_REQUESTED = "requested_in_future"
    DECODED_BY_GUESS = "decoded_by_guess"  # the file was not UTF-8; its encoding was guessed


class Status:
    OPEN = "open"
    CLOSED = "closed"


class AddressIssue:
    """Why a written address gave no point (`geocode_issue` of forward geocoding)."""

    NO_ADDRESS = "no_address"
    NOT_UNDERSTOOD = "address_not_understood"  # no street name could be read from it
    UNKNOWN_STREET = "street_not_found"  # a street name, but none of the gazetteer's
    NO_GAZETTEER = "no_gazetteer"  # the city pack has no gazetteer to look addresses up in
