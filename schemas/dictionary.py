"""The data dictionary researchers read beside the datasets: every published column, explained."""

from __future__ import annotations

import pyarrow as pa

from schemas import aggregates as ag
from schemas import cross as cx
from schemas import dead_letters as dl
from schemas import participation as pb
from schemas import requests as rq
from schemas import sensors as sn
from schemas import sla
from schemas import surveys as sv

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
    rq.GEOCODE_PRECISION: "How the location is known: point (reported coordinates inside the city); house, interpolated, "
    "intersection, street, locality or district (placed from the written address: a known house, between known "
    "house numbers, the crossing of two streets, the street's middle, a town's or a district's centre); none.",
    rq.GEOCODE_ISSUE: "What was wrong with the reported coordinates: missing_coordinates, null_island, "
    "coordinates_out_of_range, outside_city (kept when the address then placed the request).",
    rq.GEOCODE_SCORE: "0..1 confidence of an address-derived location (street match x precision); null for reported "
    "points and unplaced rows.",
    rq.DUPLICATE_OF: "Id of the first report of the same problem, if any: within 8 h before it (across midnight too), "
    "same category within 60 m (150 m when both name the same house), or a related category of the same department "
    "with a text that says the same; never across two different house numbers.",
    rq.REPORT_CLUSTER_ID: "The problem this report belongs to: duplicate_of, or the row's own id for a first report; "
    "group by it to count problems rather than reports.",
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

# Participation columns (a name shared with the requests, such as district_id, keeps its meaning).
PARTICIPATION_DESCRIPTIONS: dict[str, str] = {
    pb.ELECTION_ID: "Election id: the vote file's name without its extension, unless given (`--election`).",
    pb.DESCRIPTION: "The file's description of the election (Pabulib META).",
    pb.UNIT: "The area the election covers, as the file names it.",
    pb.VOTE_TYPE: "approval, ordinal (ranked), cumulative (points to spread) or scoring.",
    pb.RULE: "The rule the file says the city used (greedy, greedy-threshold, equalshares, ...).",
    pb.BUDGET: "Money to spend, in the election's currency.",
    pb.MIN_LENGTH: "Fewest projects a ballot must name (null: one).",
    pb.MAX_LENGTH: "Most projects a ballot may name (null: no limit).",
    pb.MIN_PROJECT_SCORE_THRESHOLD: "Score a project needs before greedy may fund it.",
    pb.DATE_BEGIN: "First day of voting.",
    pb.DATE_END: "Last day of voting.",
    pb.CURRENCY: "Currency of budget and costs.",
    pb.BALLOTS: "Ballots counted (one per voter; null when fewer than 10, see suppressed).",
    pb.SPENT_GREEDY: "Money the greedy outcome spends.",
    pb.SPENT_MES: "Money the Method of Equal Shares outcome spends.",
    pb.PROJECT_ID: "Project id as the file gives it.",
    pb.NAME: "Project name.",
    pb.COST: "Project cost in the election's currency.",
    pb.CATEGORY: "Project category (comma-separated when several), as the file gives it.",
    pb.VOTES: "Ballots naming the project (recounted from the ballots; null when fewer than 10).",
    pb.SCORE: "Points: one per approval; ordinal points (the file's, else max_length - rank + 1); cumulative or "
    "scoring sums (null when suppressed).",
    pb.SUPPRESSED: "True when the row's count is under 10 ballots: its counts are null so no small group of "
    "voters can be singled out.",
    pb.SELECTED_SOURCE: "Whether the file says the project was funded (null when it does not say).",
    pb.SELECTED_GREEDY: "Funded by greedy: projects by score, each funded if it still fits the budget, none under the "
    "score threshold.",
    pb.SELECTED_MES: "Funded by the Method of Equal Shares (cost utilities for approval ballots, points otherwise): the "
    "budget is split equally among the voters, and a project is bought by its supporters' shares.",
    pb.GROUP_KIND: "Which grouping of voters the row is: city, district, parent, neighborhood (the file's own area "
    "names), age_band, sex, voting_method.",
    pb.GROUP_VALUE: "The group: a district or parent id of the city pack, an area name, an age band (0-17, 18-24, "
    "..., 75+), M or F, internet or paper.",
    pb.GROUP_NAME: "The group's name, for districts and parent areas.",
    pb.SHARE_OF_BALLOTS: "The group's share of all ballots of the election.",
    pb.POPULATION: "Residents of the group's area, from the city pack (null when unknown).",
    pb.BALLOTS_PER_1000: "Ballots per 1,000 residents of the area.",
}

SENSOR_DESCRIPTIONS: dict[str, str] = {
    sn.STATION_ID: "Station id as the feed gives it (the UCI files' `station` value, Madrid's PUNTO_MUESTREO station, "
    "a SensorThings Thing id).",
    sn.STATION_NAME: "Station name from the stations file, if any.",
    sn.PARAMETER: "Canonical parameter: pm25, pm10, no2, so2, o3, co, temperature, dew_point, humidity, pressure, rain, "
    "wind_speed, noise_laeq, count.",
    sn.VALUE: "The value in the parameter's unit (converted from mg/m³, µg/m³, ppb or ppm where the feed used another).",
    sn.UNIT: "The parameter's unit (µg/m³; mg/m³ for co; °C, %, hPa, mm, m/s, dB(A)).",
    sn.PERIOD_START: "Start of the averaging period (UTC).",
    sn.PERIOD_END: "End of the averaging period (UTC).",
    sn.QC_FLAGS: "Quality flags: out_of_range, negative, spike, flatline, source_invalid, duplicate (left out of every "
    "aggregate), dst_ambiguous, dst_nonexistent (how a local time was read; kept).",
    sn.DATE: "Local date of the period start in the city's time zone.",
    sn.HOUR: "Local hour of the period start (0-23).",
    sn.MEAN: "Mean of the values used (flagged values left out).",
    sn.MINIMUM: "Smallest value used.",
    sn.MAXIMUM: "Largest value used.",
    sn.P50: "Median (linear interpolation, as pandas).",
    sn.P98: "98th percentile (linear interpolation).",
    sn.COUNT: "Values used (daily: valid hours; district figures: stations with a valid figure).",
    sn.EXPECTED_COUNT: "Values the period should have (daily: 24 hours, 23 or 25 when clocks change; district "
    "figures: the district's stations that report the parameter in the period).",
    sn.COVERAGE: "count / expected_count.",
    sn.VALID: "coverage >= 0.75 (the EU data-capture rule); only valid figures should be compared with limits.",
    sn.MONTH: "The first local day of the month the figures are of (monthly figures: statistics of the month's "
    "valid hourly means, expected_count = hours in the local month).",
    sn.MDA8: "o3 and co: the day's maximum 8-hour running mean (windows ending in the day, each needing 6 of its 8 "
    "hours, at least 18 of them; Directive 2008/50/EC Annex VII).",
}

PUBLISHED: dict[str, tuple[pa.Schema, str]] = {
    "requests": (rq.ENRICHED_REQUEST, "datasets/requests/city=NAME/date=YYYY-MM-DD/part-0.parquet"),
    "request_daily": (ag.REQUEST_DAILY, "datasets/request_daily/city=NAME/part-0.parquet"),
    "dead_letters": (dl.DEAD_LETTER, "datasets/dead_letters/city=NAME/source=NAME/<input hash>.parquet"),
    "pb_elections": (pb.PB_ELECTION, "datasets/pb_elections/city=NAME/election=ID/part-0.parquet"),
    "pb_projects": (pb.PB_PROJECT, "datasets/pb_projects/city=NAME/election=ID/part-0.parquet"),
    "pb_project_groups": (pb.PB_PROJECT_GROUP, "datasets/pb_project_groups/city=NAME/election=ID/part-0.parquet"),
    "pb_turnout": (pb.PB_TURNOUT, "datasets/pb_turnout/city=NAME/election=ID/part-0.parquet"),
    "survey_results": (sv.SURVEY_RESULT, "datasets/survey_results/city=NAME/survey=ID/part-0.parquet"),
    "sensor_observations": (sn.OBSERVATION, "datasets/sensor_observations/city=NAME/date=YYYY-MM-DD/part-0.parquet"),
    "sensor_hourly": (sn.SENSOR_HOURLY, "datasets/sensor_hourly/city=NAME/month=YYYY-MM/part-0.parquet"),
    "sensor_daily": (sn.SENSOR_DAILY, "datasets/sensor_daily/city=NAME/year=YYYY/part-0.parquet"),
    "sensor_monthly": (sn.SENSOR_MONTHLY, "datasets/sensor_monthly/city=NAME/year=YYYY/part-0.parquet"),
    "sensor_district_hourly": (sn.SENSOR_DISTRICT_HOURLY,
                               "datasets/sensor_district_hourly/city=NAME/month=YYYY-MM/part-0.parquet"),
    "sensor_district_daily": (sn.SENSOR_DISTRICT_DAILY,
                              "datasets/sensor_district_daily/city=NAME/year=YYYY/part-0.parquet"),
    "sensor_district_monthly": (sn.SENSOR_DISTRICT_MONTHLY,
                                "datasets/sensor_district_monthly/city=NAME/year=YYYY/part-0.parquet"),
    "request_sensor_context": (cx.REQUEST_SENSOR_CONTEXT, "datasets/request_sensor_context/city=NAME/part-0.parquet"),
    "request_rates": (cx.REQUEST_RATE, "datasets/request_rates/city=NAME/part-0.parquet"),
    "sla_breach_risk": (sla.SLA_BREACH_RISK, "datasets/sla_breach_risk/city=NAME/part-0.parquet"),
}


def meanings(dataset: str) -> dict[str, str]:
    """Column -> meaning for one published dataset (participation names shadow the requests')."""
    if dataset.startswith("pb_"):
        return {**DESCRIPTIONS, **PARTICIPATION_DESCRIPTIONS}
    if dataset.startswith("request_") and dataset not in ("requests", "request_daily"):
        return {**DESCRIPTIONS, **SENSOR_DESCRIPTIONS, **cx.CROSS_DESCRIPTIONS}
    if dataset.startswith("sensor_"):
        return {**DESCRIPTIONS, **SENSOR_DESCRIPTIONS}
    if dataset.startswith("sla_"):
        return {**DESCRIPTIONS, **sla.SLA_DESCRIPTIONS}
    if dataset.startswith("survey_"):
        return {**DESCRIPTIONS, **PARTICIPATION_DESCRIPTIONS, **sv.SURVEY_DESCRIPTIONS}
    return DESCRIPTIONS


def data_dictionary() -> str:
    lines = [f"# UrbanPulse datasets (request schema {rq.SCHEMA_VERSION}, participation schema "
             f"{pb.PARTICIPATION_SCHEMA_VERSION}, survey schema {sv.SURVEY_SCHEMA_VERSION})", ""]
    for name, (schema, layout) in PUBLISHED.items():
        lines += [f"## {name}", "", f"`{layout}`", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{f.name}` | {f.type} | {meanings(name).get(f.name, '')} |" for f in schema]
        lines.append("")
    return "\n".join(lines)
