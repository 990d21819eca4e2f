"""The prediction columns every UrbanPulse request classifier returns, built one way.

Whatever produced the raw class scores (the hashed linear model, the spaCy textcat), the
columns, their types, the abstention rule and the review flag are the same: a text without a
Cyrillic or Latin letter or without a word gets a null category and confidence and
`needs_review=True` (a triage desk wants "nobody knows", not the most frequent class), and every
other text is flagged when its calibrated confidence is below the review threshold.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from models.classification.calibration import top_class
from schemas.requests import CATEGORY, CATEGORY_CONFIDENCE, LANGUAGE, MODEL_VERSION, NEEDS_REVIEW


def prediction_frame(
    scores: np.ndarray, has_words: np.ndarray, language: pl.Series, classes: list[str],
    temperature: float, threshold: float | None, model_version: str,
) -> pl.DataFrame:
    """CATEGORY, CATEGORY_CONFIDENCE, NEEDS_REVIEW, LANGUAGE, MODEL_VERSION per text."""
    best, confidence = top_class(scores, temperature)
    n = best.size
    decided = has_words & language.is_not_null().to_numpy()
    category = pl.Series(CATEGORY, classes, dtype=pl.String).gather(best)
    if not decided.all():
        category = category.set(pl.Series(~decided), None)
    confidence = np.where(decided, confidence, np.nan)
    cutoff = np.inf if threshold is None else threshold
    return pl.DataFrame(
        [
            category,
            pl.Series(CATEGORY_CONFIDENCE, confidence, dtype=pl.Float64).fill_nan(None),
            pl.Series(NEEDS_REVIEW, ~decided | ~(confidence >= cutoff)),
            language.alias(LANGUAGE),
            pl.repeat(model_version, n, dtype=pl.String, eager=True).alias(MODEL_VERSION),
        ]
    )


def constrained_top(
    scores: np.ndarray, allowed: np.ndarray, parent: np.ndarray, temperature: float
) -> tuple[np.ndarray, np.ndarray]:
    """Best child class among those `allowed[parent]` (a parents x children bool matrix) per row.

    `parent` is the row's predicted parent index, -1 where there is none; rows without a parent
    or without an allowed child get index -1 and confidence NaN. The confidence is the softmax
    over the allowed children only: given the category, how sure the second level is."""
    n = scores.shape[0]
    has_parent = parent >= 0
    mask = np.zeros(scores.shape, dtype=bool)
    mask[has_parent] = allowed[parent[has_parent]]
    usable = mask.any(axis=1)
    masked = np.where(mask, scores, -np.inf)
    masked[~usable] = 0.0
    best, confidence = top_class(masked, temperature)
    return np.where(usable, best, -1), np.where(usable, confidence, np.nan) if n else confidence
