"""The candidate request classifiers, how each is calibrated and judged, and which one ships.

Candidates are trained on the training period minus its validation slice, calibrated on that
slice (temperature, review threshold: `models.classification.calibration`) and judged on it by
macro-F1; the holdout is not touched. The TF-IDF baseline is trained on the same part and
scored on the same slice, and its macro-F1 there is the floor: only candidates that reach it
are eligible (if none does, the best one ships, and the card and the CLI say that it is below
the baseline). Among the eligible, the best macro-F1 wins; candidates within
`SELECTION_TOLERANCE` of it count as equal and the cheapest of those ships (hashed words
before hashed words + character n-grams before spaCy: a city classifies every request, so
throughput matters once quality is equal), the better macro-F1 among equals of one cost. The
winner is then trained again on the whole training period and keeps the temperature and
threshold calibrated on the slice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from models.classification.calibration import PRECISION_TARGET, fit_calibration, review_threshold
from models.classification.features import FeatureRecipe
from models.classification.metrics import classification_metrics, coverage_at, measure_throughput
from models.classification.predictions import prediction_frame
from models.classification.spacy_textcat import SpacyTextcat
from models.classification.text_classifier import TextClassifier
from models.text.language import detect_language
from schemas.requests import CATEGORY, CATEGORY_CONFIDENCE

SELECTION_TOLERANCE = 0.002
HASHED_WORDS = "hashed-words"
HASHED_WORDS_BALANCED = "hashed-words-balanced"
HASHED_LINEAR = "hashed-linear"
HASHED_LINEAR_BALANCED = "hashed-linear-balanced"
SPACY_TEXTCAT = "spacy-textcat"
Model = TextClassifier | SpacyTextcat
Trainer = Callable[[pl.Series, pl.Series, int], Model]
WORDS_ONLY = FeatureRecipe(char_max=0)

CANDIDATES: dict[str, Trainer] = {
    HASHED_WORDS: lambda texts, labels, seed: TextClassifier.train(
        texts, labels, seed=seed, recipe=WORDS_ONLY
    ),
    HASHED_WORDS_BALANCED: lambda texts, labels, seed: TextClassifier.train(
        texts, labels, seed=seed, recipe=WORDS_ONLY, class_weight="balanced"
    ),
    HASHED_LINEAR: lambda texts, labels, seed: TextClassifier.train(texts, labels, seed=seed),
    HASHED_LINEAR_BALANCED: lambda texts, labels, seed: TextClassifier.train(
        texts, labels, seed=seed, class_weight="balanced"
    ),
    SPACY_TEXTCAT: lambda texts, labels, seed: SpacyTextcat.train(texts, labels, seed=seed),
}
# Tried by default; spaCy is offered on request (`candidates=`): it never won on our datasets and
# costs a fixed 25 s of training.
DEFAULT_CANDIDATES = (HASHED_WORDS, HASHED_WORDS_BALANCED, HASHED_LINEAR, HASHED_LINEAR_BALANCED)
KIND_OF = {HASHED_WORDS: "linear", HASHED_WORDS_BALANCED: "linear", HASHED_LINEAR: "linear",
           HASHED_LINEAR_BALANCED: "linear", SPACY_TEXTCAT: "spacy"}
# Cheaper first: words alone predict about twice as fast as with character n-grams, and the
# hashed linear models about ten times faster than spaCy.
COST = {HASHED_WORDS: 0, HASHED_WORDS_BALANCED: 0, HASHED_LINEAR: 1, HASHED_LINEAR_BALANCED: 1,
        SPACY_TEXTCAT: 2}


@dataclass
class Trial:
    name: str
    model: Model
    figures: dict = field(default_factory=dict)


def calibrate(model: Model, texts: pl.Series, labels: pl.Series,
              target: float = PRECISION_TARGET) -> dict:
    """Set the model's temperature and review threshold from a validation slice; return the
    slice's figures (macro-F1, accuracy, coverage and precision at the threshold)."""
    scores, has_words = model.scores(texts)
    model.temperature = fit_calibration(scores, model.classes, labels)
    language = detect_language(texts)
    predicted = prediction_frame(scores, has_words, language, model.classes, model.temperature,
                                 None, "")
    category, confidence = predicted[CATEGORY], predicted[CATEGORY_CONFIDENCE]
    model.review_threshold = review_threshold(category, confidence, labels, target)
    metrics = classification_metrics(category, labels, model.classes)
    review = coverage_at(category, confidence, labels, model.review_threshold)
    return {"macro_f1": metrics["macro_f1"], "accuracy": metrics["accuracy"],
            "validation_coverage": review["coverage_at_threshold"],
            "validation_precision": review["precision_at_threshold"]}


def try_candidates(
    names: list[str], fit: tuple[pl.Series, pl.Series], validation: tuple[pl.Series, pl.Series],
    seed: int,
) -> list[Trial]:
    trials = []
    for name in names:
        started = time.perf_counter()
        model = CANDIDATES[name](fit[0], fit[1], seed)
        seconds = time.perf_counter() - started
        figures = calibrate(model, *validation)
        figures |= {
            "name": name, "kind": KIND_OF[name], "estimator": model.estimator,
            "training_seconds": round(seconds, 3),
            "texts_per_second": round(measure_throughput(model.predict_batch, validation[0], 20_000, 1)),
        }
        trials.append(Trial(name, model, figures))
    return trials


def select(trials: list[Trial], floor: float | None = None) -> tuple[Trial, bool]:
    """The trial that ships, and whether it reaches `floor` (the baseline's validation macro-F1).

    Only trials at or above the floor compete; among those, the best validation macro-F1, and
    within SELECTION_TOLERANCE of it the cheapest. When none reaches it, the best one."""
    reaching = [t for t in trials if floor is None or t.figures["macro_f1"] >= floor]
    if not reaching:
        return max(trials, key=lambda t: t.figures["macro_f1"]), False
    best = max(trial.figures["macro_f1"] for trial in reaching)
    close = [t for t in reaching if t.figures["macro_f1"] >= best - SELECTION_TOLERANCE]
    chosen = min(close, key=lambda t: (COST.get(t.name, len(COST)), -t.figures["macro_f1"]))
    return chosen, True


def refit(trial: Trial, texts: pl.Series, labels: pl.Series, seed: int, name: str) -> Model:
    """The selected candidate trained on the whole training period, with its calibration."""
    model = CANDIDATES[trial.name](texts, labels, seed)
    model.name = name
    model.temperature = trial.model.temperature
    model.review_threshold = trial.model.review_threshold
    return model
