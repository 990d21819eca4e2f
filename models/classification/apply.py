"""Classify a frame of request texts with a trained model (what `urbanpulse classify` runs per file).

Adds category, calibrated category_confidence, needs_review, language, model_version (and the
second level's two columns when the model has one) to every row, and the owning department from
the city's taxonomy when a city is known (given, or recorded in the model at training), routed
exactly as the pipeline routes (`models.cities.routing.route`). Columns of the input
with the same names are replaced.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from models.cities.pack import read_taxonomy
from models.cities.routing import route
from models.classification.artifact import RequestTextModel
from schemas import requests as rq
from schemas.citypack import PACK_TAXONOMY_FILE


class ClassifyInputError(ValueError):
    """The file to classify cannot be read as asked; the message says what to change."""


def add_departments(frame: pl.DataFrame, pack_dir: Path) -> pl.DataFrame:
    """DEPARTMENT from the city's taxonomy (the source's agency, if any, for unlisted categories)."""
    had_agency = rq.AGENCY_RESPONSIBLE in frame.columns
    if not had_agency:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(rq.AGENCY_RESPONSIBLE))
    routed = route(frame.drop(rq.DEPARTMENT, rq.SLA_DAYS, strict=False),
                   read_taxonomy(pack_dir / PACK_TAXONOMY_FILE))
    return routed.drop(rq.SLA_DAYS, *([] if had_agency else [rq.AGENCY_RESPONSIBLE]))


def classify_frame(
    frame: pl.DataFrame, text: str, model: RequestTextModel, pack_dir: Path | None
) -> pl.DataFrame:
    if text not in frame.columns:
        raise ClassifyInputError(f"column {text!r} is not in the input; it has {frame.columns}")
    predictions = model.predict_batch(frame[text].cast(pl.String))
    classified = frame.drop(predictions.columns, strict=False).hstack(predictions)
    return add_departments(classified, pack_dir) if pack_dir is not None else classified
