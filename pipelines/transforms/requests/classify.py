"""ClassifyRequests: category, confidence, review flag, language and owning department per request."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import polars as pl

from models.cities.pack import read_taxonomy
from models.classification.request_classifier import load_request_classifier
from schemas import requests as rq
from schemas.citypack import PACK_TAXONOMY_FILE
from schemas.taxonomy import (
    DEFAULT_SLA_DAYS,
    TAXONOMY_CATEGORY,
    TAXONOMY_DEPARTMENT,
    TAXONOMY_SLA_DAYS,
    UNKNOWN_DEPARTMENT,
)


def route(frame: pl.DataFrame, taxonomy: pl.DataFrame) -> pl.DataFrame:
    """Department and SLA days from the taxonomy; unlisted categories keep the source's agency."""
    routes = taxonomy.select(
        pl.col(TAXONOMY_CATEGORY).alias(rq.CATEGORY),
        pl.col(TAXONOMY_DEPARTMENT).alias(rq.DEPARTMENT),
        pl.col(TAXONOMY_SLA_DAYS).alias(rq.SLA_DAYS),
    )
    routed = frame.join(routes, on=rq.CATEGORY, how="left", maintain_order="left")
    return routed.with_columns(
        pl.coalesce(rq.DEPARTMENT, rq.AGENCY_RESPONSIBLE, pl.lit(UNKNOWN_DEPARTMENT)).alias(rq.DEPARTMENT),
        pl.col(rq.SLA_DAYS).fill_null(DEFAULT_SLA_DAYS),
    )


class _ClassifyBatch(beam.DoFn):
    def __init__(self, model_dir: str | None, pack_dir: str) -> None:
        self.model_dir = model_dir
        self.pack_dir = pack_dir

    def setup(self) -> None:
        self.classifier = load_request_classifier(Path(self.model_dir) if self.model_dir else None)
        self.taxonomy = read_taxonomy(Path(self.pack_dir) / PACK_TAXONOMY_FILE)

    def process(self, frame: pl.DataFrame):
        predictions = self.classifier.predict_batch(frame)
        yield route(frame.hstack(predictions), self.taxonomy)


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
