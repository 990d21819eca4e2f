"""How well a request classifier does on rows it never saw: the figures of every model card.

The card, `TextClassifier.evaluate`, the spaCy candidate, the TF-IDF baseline and the benchmark
measure the same way, here. `holdout_report` computes every figure the card shows from the saved
holdout predictions alone, so anyone can recompute the card from `holdout_predictions.parquet`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import polars as pl

from models.classification.calibration import PRECISION_TARGET, precision_threshold

ABSTAINED = "\x00abstained"
RELIABILITY_BINS = 10
CURVE_THRESHOLDS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


def classification_metrics(predicted: pl.Series, truth: pl.Series, classes: list[str]) -> dict:
    """Accuracy, macro-F1, per-class precision / recall / F1 / support and the confusion matrix.

    A null prediction (abstention) is wrong for accuracy and recall. Macro-F1 averages over the
    model's classes plus any label that only the truth has (which the model can never get right).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    truth_values = truth.cast(pl.String).to_numpy().astype(object)
    guesses = predicted.cast(pl.String).fill_null(ABSTAINED).to_numpy().astype(object)
    labels = list(classes) + sorted(set(truth_values.tolist()) - set(classes))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth_values, guesses, labels=labels, zero_division=0
    )
    matrix_labels = labels + [ABSTAINED]
    matrix = confusion_matrix(truth_values, guesses, labels=matrix_labels)
    return {
        "rows": int(truth_values.size),
        "abstained": int((guesses == ABSTAINED).sum()),
        "accuracy": float(np.mean(truth_values == guesses)) if truth_values.size else 0.0,
        "macro_f1": float(np.mean(f1)) if labels else 0.0,
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": {
            "labels": [label if label != ABSTAINED else None for label in matrix_labels],
            "matrix": matrix.tolist(),
        },
    }


def coverage_at(
    predicted: pl.Series, confidence: pl.Series, truth: pl.Series, threshold: float | None
) -> dict:
    """Share of rows decided without review at `threshold` and their precision."""
    decided = (
        (confidence >= threshold).fill_null(False).to_numpy()
        if threshold is not None
        else np.zeros(len(confidence), dtype=bool)
    )
    correct = (predicted == truth).fill_null(False).to_numpy()
    return {
        "review_threshold": threshold,
        "coverage_at_threshold": float(decided.mean()) if decided.size else 0.0,
        "precision_at_threshold": float(correct[decided].mean()) if decided.any() else None,
    }


def reliability(
    predicted: pl.Series, confidence: pl.Series, truth: pl.Series, bins: int = RELIABILITY_BINS
) -> dict:
    """Reliability bins (equal width over [0, 1]) and the expected calibration error.

    Per bin: rows, mean confidence, accuracy. ECE = sum over bins of rows / all * |acc - conf|.
    Abstentions (no confidence) are left out."""
    scored = confidence.is_not_null().to_numpy()
    values = confidence.to_numpy()[scored].astype(np.float64)
    correct = (predicted == truth).fill_null(False).to_numpy()[scored]
    index = np.minimum((values * bins).astype(np.int64), bins - 1)
    rows = np.bincount(index, minlength=bins)
    confidence_sum = np.bincount(index, weights=values, minlength=bins)
    correct_sum = np.bincount(index, weights=correct.astype(np.float64), minlength=bins)
    filled = rows > 0
    mean_confidence = np.divide(confidence_sum, rows, out=np.zeros(bins), where=filled)
    accuracy = np.divide(correct_sum, rows, out=np.zeros(bins), where=filled)
    ece = float(np.sum(rows * np.abs(accuracy - mean_confidence)) / max(values.size, 1))
    return {
        "ece": ece,
        "bins": [
            {"low": b / bins, "high": (b + 1) / bins, "rows": int(rows[b]),
             "mean_confidence": float(mean_confidence[b]), "accuracy": float(accuracy[b])}
            for b in range(bins)
        ],
    }


def precision_coverage_curve(
    predicted: pl.Series, confidence: pl.Series, truth: pl.Series,
    thresholds: tuple[float, ...] = CURVE_THRESHOLDS,
) -> list[dict]:
    """Coverage and precision of the rows at or above each confidence threshold."""
    return [
        {"threshold": t} | {
            key: value for key, value in coverage_at(predicted, confidence, truth, t).items()
            if key != "review_threshold"
        }
        for t in thresholds
    ]


def holdout_report(
    predictions: pl.DataFrame, category: str, confidence: str, truth: str,
    classes: list[str], threshold: float | None, target: float = PRECISION_TARGET,
) -> dict:
    """Every holdout figure of the card from the saved holdout predictions.

    `coverage_at_target` is the most rows any threshold could decide at `target` precision on
    the holdout itself (hindsight, for comparison); `coverage_at_threshold` is what the shipped
    threshold, chosen on the validation slice, decides."""
    predicted, scores, labels = predictions[category], predictions[confidence], predictions[truth]
    _, best_coverage, best_precision = precision_threshold(predicted, scores, labels, target)
    return (
        classification_metrics(predicted, labels, classes)
        | coverage_at(predicted, scores, labels, threshold)
        | {
            "precision_target": target,
            "coverage_at_target": best_coverage,
            "precision_at_target": best_precision,
            "calibration": reliability(predicted, scores, labels),
            "precision_coverage": precision_coverage_curve(predicted, scores, labels),
        }
    )


def measure_throughput(
    predict: Callable[[pl.Series], object], texts: pl.Series, min_rows: int = 20_000,
    repeats: int = 3,
) -> float:
    """Texts per second of `predict` on `texts` repeated to at least `min_rows` (best of 3)."""
    if len(texts) == 0:
        return 0.0
    sample = pl.concat([texts] * max(1, -(-min_rows // len(texts))))
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        predict(sample)
        best = min(best, time.perf_counter() - started)
    return len(sample) / best
