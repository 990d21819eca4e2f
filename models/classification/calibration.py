"""Calibrated confidence and the review rule shared by every UrbanPulse request classifier.

A classifier gives raw class scores (SVM margins, log-probabilities of a spaCy textcat); one
softmax temperature fitted on the validation slice turns them into a confidence that means
"right this often". `needs_review` then marks the rows a person should look at.

The review rule: the threshold is the lowest confidence at which the rows at or above it reach
the precision target (98%) on the validation slice, with at least `REVIEW_MIN_ROWS` rows, and
never below `CONFIDENCE_FLOOR` (0.5). The floor matters on clean data: when validation precision
is above 98% at every threshold the first part alone falls to the minimum confidence and
nothing is ever reviewed, although the calibrated model itself says that a prediction below 0.5
is more likely wrong than right (on the demo city every wrong prediction is below 0.5). A triage
desk wants exactly those rows.
"""

from __future__ import annotations

import numpy as np
import polars as pl

PRECISION_TARGET = 0.98
CONFIDENCE_FLOOR = 0.5
# Fewest validation rows above a review threshold for its precision to mean anything.
REVIEW_MIN_ROWS = 20


def top_class(scores: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Index and calibrated probability of the best class, without the full softmax copy."""
    if scores.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    best = scores.argmax(axis=1)
    top = scores[np.arange(scores.shape[0]), best][:, None]
    total = np.exp((scores - top) / temperature, dtype=np.float64).sum(axis=1)
    return best, 1.0 / total


def fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """Temperature minimising the cross-entropy of softmax(scores / T) on held-out rows.

    The targets are smoothed by 1 / (rows + 1): n correct validation rows are evidence for a
    confidence near 1 - 1/n, not for 1.0, and without smoothing a separable validation slice
    drives T to zero and every confidence to exactly 1.
    """
    from scipy.optimize import minimize_scalar

    if truth.size == 0:
        return 1.0
    scores = scores.astype(np.float64)
    smoothing = 1.0 / (truth.size + 1)
    rows = np.arange(truth.size)

    def cross_entropy(log_t: float) -> float:
        scaled = scores / np.exp(log_t)
        top = scaled.max(axis=1)
        log_norm = top + np.log(np.exp(scaled - top[:, None]).sum(axis=1))
        target = (1 - smoothing) * scaled[rows, truth] + smoothing * scaled.mean(axis=1)
        return float(np.mean(log_norm - target))

    result = minimize_scalar(cross_entropy, bounds=(np.log(1e-3), np.log(1e2)), method="bounded")
    return float(np.exp(result.x))


def fit_calibration(
    scores: np.ndarray, classes: list[str], labels: pl.Series
) -> float:
    """Temperature from validation scores and labels (labels the model never saw are skipped)."""
    known = labels.is_in(classes).to_numpy()
    truth = np.searchsorted(classes, labels.filter(pl.Series(known)).to_numpy())
    return fit_temperature(scores[known], truth)


def precision_threshold(
    predicted: pl.Series, confidence: pl.Series, truth: pl.Series, target: float,
    min_rows: int = REVIEW_MIN_ROWS,
) -> tuple[float | None, float, float | None]:
    """Lowest confidence t with precision >= target over the rows with confidence >= t.

    Returns (t, coverage, precision at t; None when t is). Only thresholds with at least
    `min_rows` rows above them count: a precision measured on three rows promises nothing.
    t is None when no threshold qualifies; abstentions are never covered.
    """
    correct = (predicted == truth).fill_null(False).to_numpy()
    scores = confidence.fill_null(-np.inf).to_numpy()
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], np.cumsum(correct[order])
    last_of_value = np.append(ranked[1:] != ranked[:-1], True) & np.isfinite(ranked)
    kept = np.flatnonzero(last_of_value)
    precision = hits[kept] / (kept + 1)
    reaching = np.flatnonzero((precision >= target) & (kept + 1 >= min_rows))
    if reaching.size == 0:
        return None, 0.0, None
    pick = kept[reaching[-1]]
    return float(ranked[pick]), float((pick + 1) / scores.size), float(precision[reaching[-1]])


def review_threshold(
    predicted: pl.Series, confidence: pl.Series, truth: pl.Series,
    target: float = PRECISION_TARGET, floor: float = CONFIDENCE_FLOOR,
) -> float | None:
    """The shipped threshold: `precision_threshold`, raised to `floor` (see the module docstring).

    None (review everything) when the target is never reached on the validation slice."""
    threshold, _, _ = precision_threshold(predicted, confidence, truth, target)
    return None if threshold is None else max(threshold, floor)
