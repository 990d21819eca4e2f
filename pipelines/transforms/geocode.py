"""GeocodeRequests: district, parent level, H3 cell and geocode precision from coordinates."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics

from models.city_pack import CityPack
from models.reverse_geocoder import ReverseGeocoder
from schemas import requests as rq


class _GeocodeBatch(beam.DoFn):
    def __init__(self, pack_dir: str) -> None:
        self.pack_dir = pack_dir
        self.unplaced = Metrics.counter("urbanpulse", "requests_without_district")

    def setup(self) -> None:
        self.geocoder = ReverseGeocoder(CityPack.load(self.pack_dir))

    def process(self, frame: pl.DataFrame):
        located = self.geocoder.predict_batch(frame[rq.LAT], frame[rq.LONG])
        self.unplaced.inc(located[rq.DISTRICT_ID].null_count())
        yield frame.hstack(located)


class GeocodeRequests(beam.PTransform):
    """Batches in, batches with location columns out; points outside the city are flagged, not dropped."""

    def __init__(self, pack_dir: Path) -> None:
        super().__init__()
        self.pack_dir = str(pack_dir)

    def expand(self, frames):
        return frames | "ReverseGeocodeBatches" >> beam.ParDo(_GeocodeBatch(self.pack_dir)).with_output_types(
            pl.DataFrame
        )
