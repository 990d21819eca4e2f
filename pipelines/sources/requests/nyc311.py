"""NYC Open Data 311 export (`erm2-nwe9`, 46 columns) as a mapping over the generic CSV reader.

NYC publishes no free text from the caller, only `Complaint Type` and `Descriptor`, so the
description joins the two ("Noise - Vehicle: Car/Truck Music"). `Resolution Description` is the
city's reply, not the request: it goes to Open311's `status_notes`, never into the description. About 5% of rows have no `Incident Address` but
an intersection; those get "STREET 1 & STREET 2" so the geocoder has something to work with.
Timestamps are US 12-hour wall-clock times in New York.
"""

from __future__ import annotations

import polars as pl

from pipelines.sources.requests.mapping import SourceMapping
from schemas.requests import (
    ADDRESS,
    AGENCY_RESPONSIBLE,
    CLOSED_DATETIME,
    DESCRIPTION,
    EXPECTED_DATETIME,
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

NAME = "nyc311"

NYC311 = SourceMapping(
    columns={
        SERVICE_REQUEST_ID: "Unique Key",
        REQUESTED_DATETIME: "Created Date",
        CLOSED_DATETIME: "Closed Date",
        UPDATED_DATETIME: "Resolution Action Updated Date",
        EXPECTED_DATETIME: "Due Date",
        STATUS_NOTES: "Resolution Description",
        STATUS: "Status",
        SERVICE_NAME: "Complaint Type",
        SERVICE_CODE: "Complaint Type",
        DESCRIPTION: pl.concat_str(
            [pl.col("Complaint Type"), pl.col("Descriptor")], separator=": ", ignore_nulls=True
        ),
        AGENCY_RESPONSIBLE: "Agency",
        ADDRESS: pl.coalesce(
            pl.col("Incident Address"),
            pl.concat_str(
                [pl.col("Intersection Street 1"), pl.col("Intersection Street 2")],
                separator=" & ",
                ignore_nulls=True,
            ),
        ),
        LAT: "Latitude",
        LONG: "Longitude",
    },
    source=NAME,
    timestamp_formats=("%m/%d/%Y %I:%M:%S %p",),
    timezone="America/New_York",
)
