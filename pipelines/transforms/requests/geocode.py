"""GeocodeRequests: district, parent level, H3 cell, geocode precision and score.

Reported coordinates inside the city are used as they are (`point`). A request without usable
coordinates (missing, null island, out of range) but with an address - the address field, else
an address found in its description - is forward-geocoded against the city's gazetteer, its
point written into `lat`/`long`, and then placed in a district like every other point. Its
`geocode_issue` still says why the reported coordinates were not used.
"""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import numpy as np
import polars as pl
from apache_beam.metrics import Metrics

from models.cities.pack import CityPack
from models.geocoding.address_spans import AddressSpanFinder
from models.geocoding.forward import ForwardGeocoder
from models.geocoding.reverse import ReverseGeocoder
from pipelines.transforms.guard import enrich_guarded
from schemas import ledger
from schemas import requests as rq

STEP = "geocode"  # the dead-letter stage of records this step cannot enrich

UNUSABLE_COORDINATES = (rq.GeocodeIssue.MISSING, rq.GeocodeIssue.NULL_ISLAND, rq.GeocodeIssue.OUT_OF_RANGE)


def geocode_frame(
    frame: pl.DataFrame,
    reverse: ReverseGeocoder,
    forward: ForwardGeocoder | None,
    spans: AddressSpanFinder | None = None,
) -> pl.DataFrame:
    """`frame` with location columns added (and lat/long filled where an address placed it)."""
    located = reverse.predict_batch(frame[rq.LAT], frame[rq.LONG])
    score = pl.Series(rq.GEOCODE_SCORE, [None] * frame.height, dtype=pl.Float64)
    needs = located[rq.GEOCODE_ISSUE].is_in(UNUSABLE_COORDINATES).fill_null(False).to_numpy()
    rows = np.flatnonzero(needs)
    if forward is None or rows.size == 0:
        return frame.hstack(located.with_columns(score))
    addresses = frame[rq.ADDRESS].gather(rows)
    written = addresses.cast(pl.String).str.strip_chars().str.len_chars().fill_null(0) > 0
    if spans is not None and not written.all():
        without = np.flatnonzero(~written.to_numpy())
        found = spans.find(frame[rq.DESCRIPTION].gather(rows[without]))
        addresses = addresses.scatter(without, found)
    placed = forward.predict_batch(addresses)
    hit = placed[rq.LAT].is_not_null().to_numpy()
    rows, placed = rows[hit], placed.filter(pl.Series(hit))
    if rows.size == 0:
        return frame.hstack(located.with_columns(score))
    relocated = reverse.predict_batch(placed[rq.LAT], placed[rq.LONG])
    area = [rq.DISTRICT_ID, rq.DISTRICT_NAME, rq.PARENT_ID, rq.PARENT_NAME, rq.H3_CELL]
    located = located.with_columns(
        [located[c].scatter(rows, relocated[c]) for c in area]
        + [located[rq.GEOCODE_PRECISION].scatter(rows, placed[rq.GEOCODE_PRECISION])]
    ).with_columns(score.scatter(rows, placed[rq.GEOCODE_SCORE]))
    coordinates = [frame[c].cast(pl.Float64).scatter(rows, placed[c]) for c in (rq.LAT, rq.LONG)]
    return frame.with_columns(coordinates).hstack(located)


class _GeocodeBatch(beam.DoFn):
    def __init__(self, pack_dir: str) -> None:
        self.pack_dir = pack_dir
        self.unplaced = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.REQUESTS_WITHOUT_DISTRICT)
        self.by_address = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.REQUESTS_PLACED_BY_ADDRESS)

    def setup(self) -> None:
        pack = CityPack.load(self.pack_dir)
        self.reverse = ReverseGeocoder(pack)
        self.forward = ForwardGeocoder.from_pack(pack)
        self.spans = AddressSpanFinder() if self.forward is not None else None

    def process(self, frame: pl.DataFrame):
        yield enrich_guarded(STEP, self.geocode, frame)

    def geocode(self, frame: pl.DataFrame) -> pl.DataFrame:
        out = geocode_frame(frame, self.reverse, self.forward, self.spans)
        self.unplaced.inc(out[rq.DISTRICT_ID].null_count())
        self.by_address.inc(out[rq.GEOCODE_SCORE].is_not_null().sum())
        return out


class GeocodeRequests(beam.PTransform):
    """Batches in, batches with location columns out; points outside the city are flagged, not dropped."""

    def __init__(self, pack_dir: Path) -> None:
        super().__init__()
        self.pack_dir = str(pack_dir)

    def expand(self, frames):
        return frames | "GeocodeBatches" >> beam.ParDo(_GeocodeBatch(self.pack_dir)).with_output_types(
            pl.DataFrame
        )
