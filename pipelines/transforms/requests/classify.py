"""ClassifyRequests: category, confidence, review flag, language and owning department per request."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import polars as pl

from models.cities.pack import read_taxonomy
from models.cities.routing import route
from models.classification.request_classifier import load_request_classifier
from pipelines.transforms.guard import enrich_guarded
from schemas.citypack import PACK_TAXONOMY_FILE

STEP = "classify"  # the dead-letter stage of records this step cannot enrich


class _ClassifyBatch(beam.DoFn):
    def __init__(self, model_dir: str | None, pack_dir: str) -> None:
        self.model_dir = model_dir
        self.pack_dir = pack_dir

    def setup(self) -> None:
        self.classifier = load_request_classifier(Path(self.model_dir) if self.model_dir else None)
        self.taxonomy = read_taxonomy(Path(self.pack_dir) / PACK_TAXONOMY_FILE)

    def process(self, frame: pl.DataFrame):
        yield enrich_guarded(STEP, self.classify, frame)

    def classify(self, frame: pl.DataFrame) -> pl.DataFrame:
        return route(frame.hstack(self.classifier.predict_batch(frame)), self.taxonomy)


class ClassifyRequests(beam.PTransform):
    """Normalised batches in, classified and routed batches out (same rows)."""

    def __init__(self, pack_dir: Path, model_dir: Path | None = None) -> None:
        super().__init__()
        self.pack_dir = str(pack_dir)
        self.model_dir = str(model_dir) if model_dir else None

    def expand(self, frames):
        return frames | "ClassifyBatches" >> beam.ParDo(
            _ClassifyBatch(self.model_dir, self.pack_dir)
        ).with_output_types(pl.DataFrame)
