"""DataSF 311 cases export as a mapping over the generic CSV reader.

SF's two-level taxonomy maps as `category` -> service_name and `complaint_type` ->
service_code. The description is what the request was about, "complaint_type: descriptor"
(the same shape as NYC's); `status_notes` is staff's account of the
resolution ("Field Work has been completed."): it stays in Open311's `status_notes`, out of the
description, so it never leaks the outcome into text models. DataSF's own `source` column is the intake channel
(Web, Phone), not our source. Timestamps carry `+00:00`; naive ones are San Francisco time.
"""

from __future__ import annotations

import polars as pl

from pipelines.sources.requests.mapping import ISO_8601_FORMATS, SourceMapping
from schemas.requests import (
    ADDRESS,
    AGENCY_RESPONSIBLE,
    CLOSED_DATETIME,
    DESCRIPTION,
    LAT,
    LONG,
    REQUESTED_DATETIME,
    SERVICE_CODE,
    SERVICE_NAME,
    SERVICE_REQUEST_ID,
    STATUS,
    STATUS_NOTES,
    UPDATED_DATETIME,
)

NAME = "sf311"

SF311 = SourceMapping(
    columns={
        SERVICE_REQUEST_ID: "unique_key",
        REQUESTED_DATETIME: "created_date",
        CLOSED_DATETIME: "closed_date",
        UPDATED_DATETIME: "resolution_action_updated_date",
        STATUS_NOTES: "status_notes",
        STATUS: "status",
        SERVICE_NAME: "category",
        SERVICE_CODE: "complaint_type",
        DESCRIPTION: pl.concat_str(
            [pl.col("complaint_type"), pl.col("descriptor")], separator=": ", ignore_nulls=True
        ),
        AGENCY_RESPONSIBLE: "agency_name",
        ADDRESS: "incident_address",
        LAT: "latitude",
        LONG: "longitude",
    },
    source=NAME,
    timestamp_formats=ISO_8601_FORMATS,
    timezone="America/Los_Angeles",
)
