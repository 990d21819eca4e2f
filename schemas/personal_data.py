"""Personal-data spans: where a phone, e-mail, name or flat number sits in a request text.

The detector (`models.personal_data`) returns them and the synthetic generator writes the
answer key in the same shape, so the two can be graded span by span.
"""

from __future__ import annotations

import polars as pl

from schemas import requests as rq

PII_SPANS = "pii_spans"  # list<PII_SPAN> column of one text's spans
PII_START = "start"  # first character of the span
PII_END = "end"  # one past its last character
PII_TYPE = "type"  # a PiiType
PII_SPAN = pl.Struct({PII_START: pl.Int32, PII_END: pl.Int32, PII_TYPE: pl.String})


class PiiType:
    PHONE = "phone"
    EMAIL = "email"
    PERSON = "person"
    FLAT = "flat"


# the free-text columns `ScrubPersonalData` scrubs before anything is published
SCRUBBED_COLUMNS: tuple[str, ...] = (rq.DESCRIPTION, rq.STATUS_NOTES)

# A city pack's own public contacts, kept in published texts (`models.personal_data.public`):
# a CSV of `kind,value` rows, kind `phone` (compared by digits) or `text` (kept verbatim).
PACK_PUBLIC_CONTACTS_FILE = "public_contacts.csv"
PUBLIC_KIND = "kind"
PUBLIC_VALUE = "value"
PUBLIC_KIND_PHONE = "phone"
PUBLIC_KIND_TEXT = "text"
