"""The data dictionary researchers read beside the datasets: every published column, explained."""

from __future__ import annotations

import pyarrow as pa

from schemas import aggregates as ag
from schemas import dead_letters as dl
from schemas import requests as rq

DESCRIPTIONS: dict[str, str] = {
    rq.SERVICE_REQUEST_ID: "Request id as the source issued it (Open311 service_request_id).",
    rq.STATUS: "open or closed, mapped from the source's status words.",
    rq.STATUS_NOTES: "The city's note on the current status, as the source gave it (mojibake repaired; personal data "
    "replaced as in description).",
    rq.SERVICE_CODE: "The source's own service code, if any.",
    rq.SERVICE_NAME: "The source's own service / complaint type, if any.",
    rq.DESCRIPTION: "The resident's text (whitespace collapsed, mojibake repaired), with phones, e-mails, personal names "
    "and flat numbers replaced by [PHONE], [EMAIL], [PERSON], [FLAT]. Detection is rule-based: review before open publication.",
    rq.AGENCY_RESPONSIBLE: "Agency named by the source.",
    rq.REQUESTED_DATETIME: "When the request was made (UTC).",
    rq.UPDATED_DATETIME: "Last update the source reported (UTC).",
    rq.EXPECTED_DATETIME: "Due time the source reported (UTC).",
    rq.CLOSED_DATETIME: "When the request was closed (UTC), as the source reported it.",
    rq.ADDRESS: "Address text from the source, without its flat or unit number (after кв., apt, unit, flat or a # "
    "after the street): street and house stay.",
    rq.LAT: "Latitude (WGS84) as reported; null if missing or not a number.",
    rq.LONG: "Longitude (WGS84) as reported; null if missing or not a number.",
    rq.SOURCE: "Name of the feed the record came from.",
    rq.SOURCE_FILE: "Path of the export file the record came from.",
    rq.SOURCE_POSITION: "0-based record index within that file.",
    rq.QUALITY_FLAGS: "Quirks kept on the row (closed_before_requested, unparseable_<field>, out_of_range_<field>, mojibake_repaired, decoded_by_guess, ...).",
    rq.LANGUAGE: "Language of the description (ru, en; null when it has no letters).",
    rq.CATEGORY: "Category from the city's classifier (or the source's own category when no model is trained).",
    rq.CATEGORY_CONFIDENCE: "Calibrated probability of the category (null when the category came from the source).",
    rq.DEPARTMENT: "Department that owns the category (taxonomy), else the source's agency, else triage.",
    rq.NEEDS_REVIEW: "True when the confidence is below the threshold chosen for 98% precision.",
    rq.MODEL_VERSION: "Which model produced the category (name@version-hash, or source-category).",
    rq.DISTRICT_ID: "District containing the point (city pack id); null when not placed.",
    rq.DISTRICT_NAME: "District name.",
    rq.PARENT_ID: "Parent area (okrug, borough) id.",
    rq.PARENT_NAME: "Parent area name.",
    rq.H3_CELL: "H3 cell of the point at the pack's resolution (hex string).",
    rq.GEOCODE_PRECISION: "How the location is known: point (reported coordinates inside the city); house, interpolated "
    "or street (placed from the written address: a known house, between known house numbers, the street's middle); none.",
    rq.GEOCODE_ISSUE: "What was wrong with the reported coordinates: missing_coordinates, null_island, "
    "coordinates_out_of_range, outside_city (kept when the address then placed the request).",
    rq.GEOCODE_SCORE: "0..1 confidence of an address-derived location (street match x precision); null for reported "
    "points and unplaced rows.",
    rq.DUPLICATE_OF: "Id of the first report of the same problem (same category, within 60 m and 8 h), if any.",
    rq.SLA_DAYS: "Days the taxonomy gives this category (default 8).",
    rq.SLA_DUE_DATETIME: "requested_datetime + sla_days (UTC).",
    rq.HOURS_TO_CLOSE: "Hours from request to close; null if open or closed before requested.",
    rq.CLOSED_WITHIN_SLA: "Closed by the due time; null if open or the close time is implausible.",
    rq.INGESTED_AT: "When UrbanPulse ingested this version (UTC).",
    rq.SCHEMA_VERSION_COLUMN: "Version of the UrbanPulse schema the row was written with.",
    rq.REQUEST_DATE: "Local date of the request in the city's time zone (hive partition).",
    ag.NEW: "Requests made that day.",
    ag.CLOSED: "Requests closed that day (a close before the request counts on the request day).",
    ag.BACKLOG: "Open requests at the end of the day: running total of new minus closed.",
    ag.MEDIAN_HOURS_TO_CLOSE: "Median hours to close of the requests closed that day.",
    ag.CLOSED_WITH_SLA_OUTCOME: "Requests closed that day with a plausible close time.",
    ag.SHARE_CLOSED_WITHIN_SLA: "Share of those closed within their SLA.",
    dl.STAGE: "Pipeline step that rejected the record.",
    dl.REASON: "Machine-readable reason (missing_service_request_id, unparseable_requested_datetime, ...).",
    dl.DETAIL: "Human-readable detail.",
    dl.RAW_PAYLOAD: "The record as the source adapter read it (JSON of its text fields).",
    dl.FAILED_AT: "When the record was rejected (UTC).",
}

PUBLISHED: dict[str, tuple[pa.Schema, str]] = {
    "requests": (rq.ENRICHED_REQUEST, "datasets/requests/date=YYYY-MM-DD/part-0.parquet"),
    "request_daily": (ag.REQUEST_DAILY, "datasets/request_daily/part-0.parquet"),
    "dead_letters": (dl.DEAD_LETTER, "datasets/dead_letters/source=NAME/<input hash>.parquet"),
}


def data_dictionary() -> str:
    lines = [f"# UrbanPulse datasets (schema {rq.SCHEMA_VERSION})", ""]
    for name, (schema, layout) in PUBLISHED.items():
        lines += [f"## {name}", "", f"`{layout}`", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{f.name}` | {f.type} | {DESCRIPTIONS.get(f.name, '')} |" for f in schema]
        lines.append("")
    return "\n".join(lines)
