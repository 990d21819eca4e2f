"""The names UrbanPulse counts under, in one place: every run, landing segment and report uses them.

The promise they express: records in = records out + dead letters, where the live path's dead
letters are the invalid records plus the versions refused as too late.
"""

from __future__ import annotations

from collections.abc import Mapping

METRICS_NAMESPACE = "urbanpulse"  # Beam metrics namespace of every counter below

RECORDS_IN = "records_in"  # records read from the input or the landing log
RECORDS_OUT = "records_out"  # records that became (or updated) a request row
DEAD_LETTERS = "dead_letters"  # records kept as dead letters, with a reason
INVALID = "invalid"  # live path: dead letters of validation
TOO_LATE = "too_late"  # live path: versions older than the allowed lateness when they landed
ENRICH_FAILED = "enrich_failed"  # records a step after validation could not enrich
VERSIONS_SUPERSEDED = "versions_superseded"  # rows replaced by a newer version of the same id
REQUEST_ROWS_PUBLISHED = "request_rows_published"  # rows in the city's request dataset after the run
REQUESTS_WITHOUT_DISTRICT = "requests_without_district"
REQUESTS_PLACED_BY_ADDRESS = "requests_placed_by_address"
RECORDS_VALID = "records_valid"  # records validation passed on
DEAD_LETTERS_VALIDATE = "dead_letters_validate"  # records validation turned into dead letters
PERSONAL_DATA_SPANS_SCRUBBED = "personal_data_spans_scrubbed"
SEGMENTS = "segments"  # live ledger: landing segments seen
LAST_LANDED_AT = "last_landed_at"  # live ledger: when the newest of them landed
ACCOUNTING_OK = "accounting_ok"

BATCH_COUNTERS = (
    RECORDS_IN, RECORDS_OUT, DEAD_LETTERS, VERSIONS_SUPERSEDED, REQUEST_ROWS_PUBLISHED,
    REQUESTS_WITHOUT_DISTRICT, ENRICH_FAILED,
)


def committed_records(reader: str) -> str:
    """The counter of records one committing reader of the live path wrote (`windows_records`...)."""
    return f"{reader}_records"


def balances(counts: Mapping[str, int]) -> bool:
    """records in = out + dead letters."""
    return counts.get(RECORDS_IN, 0) == counts.get(RECORDS_OUT, 0) + counts.get(DEAD_LETTERS, 0)
