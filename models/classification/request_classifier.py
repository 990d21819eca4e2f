"""The one entry point the pipelines use to put a category on a request.

A city with a trained text classifier gets its predictions over `description`, whatever kind of
model was selected at training (hashed linear or spaCy textcat: `models.classification.artifact`). A city without
one (a real export ingested before any training) keeps the category its source already gives
(`service_name`), marked with a `model_version` that says so and no confidence, so nobody mistakes
it for a model's judgement.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import polars as pl

from plumbing.workspace import Workspace
from schemas import requests as rq

SOURCE_CATEGORY_VERSION = "source-category"
DEFAULT_MODEL_POINTER = "default_model.txt"
PREDICTION_COLUMNS = (
    rq.CATEGORY, rq.CATEGORY_CONFIDENCE, rq.NEEDS_REVIEW, rq.LANGUAGE, rq.MODEL_VERSION,
)


class RequestClassifier(Protocol):
    def predict_batch(self, requests: pl.DataFrame) -> pl.DataFrame: ...


class TextModelClassifier:
    """Predictions of a trained request text model over the request's description."""

    def __init__(self, model_dir: Path) -> None:
        from models.classification.artifact import RequestTextModel

        self.model = RequestTextModel.load(model_dir)

    def predict_batch(self, requests: pl.DataFrame) -> pl.DataFrame:
        return self.model.predict_batch(requests[rq.DESCRIPTION]).select(PREDICTION_COLUMNS)


class SourceCategoryClassifier:
    """The source's own category, slugged; confidence unknown, review needed where it is missing."""

    def predict_batch(self, requests: pl.DataFrame) -> pl.DataFrame:
        from models.text.language import detect_language

        category = (
            requests[rq.SERVICE_NAME].str.to_lowercase().str.replace_all(r"[^\w]+", "_")
            .str.strip_chars("_").replace("", None)
        )
        return pl.DataFrame(
            {
                rq.CATEGORY: category,
                rq.CATEGORY_CONFIDENCE: pl.Series([None] * requests.height, dtype=pl.Float64),
                rq.NEEDS_REVIEW: category.is_null(),
                rq.LANGUAGE: detect_language(requests[rq.DESCRIPTION]),
                rq.MODEL_VERSION: pl.Series([SOURCE_CATEGORY_VERSION] * requests.height, dtype=pl.String),
            }
        )


def load_request_classifier(model_dir: Path | None) -> RequestClassifier:
    if model_dir is None:
        return SourceCategoryClassifier()
    return TextModelClassifier(Path(model_dir))


def default_model_dir(workspace: Workspace, city: str) -> Path | None:
    """The city's default classifier, as `models.classification.training.train_classifier(city=...)` recorded it."""
    pointer = workspace.city(city) / DEFAULT_MODEL_POINTER
    if pointer.exists():
        candidate = workspace.model(pointer.read_text(encoding="utf-8").strip())
        if candidate.exists():
            return candidate
    return None
