"""ScrubPersonalData: request texts with phones, e-mails, names and flat numbers replaced by
typed placeholders (`[PHONE]`, `[EMAIL]`, `[PERSON]`, `[FLAT]`), and addresses without their
flat number, so that UrbanPulse's public outputs carry the complaint but not the resident.

The address keeps its street and house: researchers map requests by them. Geocoding runs before
this step in both pipelines, so the geocoder has read the whole address by the time its flat goes.

`scrub_frame` is the plain polars step (tests, notebooks, the open-data export); the PTransform
runs it over every frame of a batch or streaming pipeline.
"""

from __future__ import annotations

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics

from models.personal_data.detector import (
    detect_address_flats,
    detect_pii,
    scrub_addresses,
    scrub_pii,
)
from models.personal_data.public import PublicContacts
from pipelines.transforms.guard import enrich_guarded
from schemas import ledger
from schemas import requests as rq
from schemas.personal_data import SCRUBBED_COLUMNS

STEP = "scrub_personal_data"  # the dead-letter stage of records this step cannot enrich

ADDRESS_COLUMNS: tuple[str, ...] = (rq.ADDRESS,)  # flat numbers only; SCRUBBED_COLUMNS: every kind of span


def scrub_frame(frame: pl.DataFrame, public: PublicContacts | None = None) -> pl.DataFrame:
    """`frame` with its free-text columns scrubbed and the flats dropped from its address; other
    columns and the row order untouched; `public` (the city pack's own contacts) is kept."""
    scrubbed, _ = scrub_frame_counted(frame, public)
    return scrubbed


def scrub_frame_counted(
    frame: pl.DataFrame, public: PublicContacts | None = None
) -> tuple[pl.DataFrame, int]:
    """(scrubbed frame, number of spans replaced), for callers that count what they removed."""
    replaced = 0
    columns = []
    def detect_texts(texts: pl.Series) -> pl.Series:
        return detect_pii(texts, public=public)

    for names, detect, scrub in ((SCRUBBED_COLUMNS, detect_texts, scrub_pii),
                                 (ADDRESS_COLUMNS, detect_address_flats, scrub_addresses)):
        for name in (n for n in names if n in frame.columns):
            texts = frame.get_column(name)
            spans = detect(texts)
            replaced += int(spans.list.len().sum() or 0)
            columns.append(scrub(texts, spans).alias(name))
    return (frame.with_columns(columns) if columns else frame), replaced


class _ScrubBatch(beam.DoFn):
    def __init__(self, public: PublicContacts | None = None) -> None:
        self.public = public
        self.spans = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.PERSONAL_DATA_SPANS_SCRUBBED)

    def process(self, frame: pl.DataFrame):
        yield enrich_guarded(STEP, self.scrub, frame)

    def scrub(self, frame: pl.DataFrame) -> pl.DataFrame:
        scrubbed, replaced = scrub_frame_counted(frame, self.public)
        self.spans.inc(replaced)
        return scrubbed


class ScrubPersonalData(beam.PTransform):
    """Frames in, the same frames with personal data in their texts replaced, out; `public`
    (the city pack's `public_contacts()`) is kept."""

    def __init__(self, public: PublicContacts | None = None) -> None:
        super().__init__()
        self.public = public

    def expand(self, frames):
        return frames | "ScrubTextBatches" >> beam.ParDo(_ScrubBatch(self.public)).with_output_types(
            pl.DataFrame
        )
