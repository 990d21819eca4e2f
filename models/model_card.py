"""The model card that travels with every trained artifact (JSON for machines, Markdown for people),
and the measurements it reports.

A researcher reading `model_version` on a dataset row must be able to find out what produced it:
the data it learned from, how well it did on rows it never saw, where its confidence stops being
trustworthy (the review threshold) and which library versions computed its features. The metric
functions live here so that the card, `TextClassifier.evaluate` and any later model (spaCy
candidates) measure the same way: the validation split the card's figures come from, the metrics,
the temperature that turns scores into a calibrated confidence, and the review threshold.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

CARD_JSON = "model_card.json"
CARD_MARKDOWN = "model_card.md"
_ABSTAINED = "\x00abstained"
# Fewest validation rows above a review threshold for its precision to mean anything.
REVIEW_MIN_ROWS = 20


@dataclass
class ModelCard:
    name: str
    version: str
    model_version: str
    created_at: str
    data: dict  # rows, train_rows, validation_rows, split, seed
    classes: list[str]
    class_support: dict[str, int]  # training rows per class
    accuracy: float  # on the validation slice
    macro_f1: float
    per_class: dict[str, dict[str, float]]  # precision, recall, f1, support
    review_precision_target: float
    review_threshold: float | None  # None: the target is never reached, everything is reviewed
    coverage_at_threshold: float  # share of validation rows decided without review
    precision_at_threshold: float | None
    training_seconds: float
    inference_texts_per_second: float
    model: dict  # estimator, hyper-parameters, calibration, feature recipe
    libraries: dict[str, str]
    notes: list[str] = field(default_factory=list)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CARD_JSON).write_text(
            json.dumps(asdict(self), indent=2, ensure_ascii=False), encoding="utf-8"
        )
        (directory / CARD_MARKDOWN).write_text(self.to_markdown(), encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> ModelCard:
        path = directory / CARD_JSON
        if not path.exists():
            raise FileNotFoundError(f"no model card at {path}; was the model saved with save()?")
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def to_markdown(self) -> str:
        threshold = (
            f"{self.review_threshold:.4f}" if self.review_threshold is not None else "never reached"
        )
        lines = [
            f"# Model card: {self.name} {self.version}",
            "",
            f"- model_version: `{self.model_version}`",
            f"- created: {self.created_at}",
            f"- estimator: {self.model.get('estimator')}",
            (
                f"- training time: {self.training_seconds:.1f} s; "
                f"inference: {self.inference_texts_per_second:,.0f} texts/s"
            ),
            "",
            "## Data",
            "",
            *(f"- {key}: {value}" for key, value in self.data.items()),
            "",
            "## Quality on the validation slice",
            "",
            f"- accuracy: {self.accuracy:.4f}",
            f"- macro-F1: {self.macro_f1:.4f}",
            f"- review threshold for {self.review_precision_target:.0%} precision: {threshold}",
            f"- coverage without review: {self.coverage_at_threshold:.1%}"
            + (
                f" (precision there {self.precision_at_threshold:.4f})"
                if self.precision_at_threshold is not None
                else ""
            ),
            "",
            "| class | train rows | precision | recall | F1 | validation rows |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for label in self.classes:
            metrics = self.per_class.get(label, {})
            lines.append(
                f"| {label} | {self.class_support.get(label, 0)} "
                f"| {metrics.get('precision', 0.0):.3f} | {metrics.get('recall', 0.0):.3f} "
                f"| {metrics.get('f1', 0.0):.3f} | {int(metrics.get('support', 0))} |"
            )
        lines += ["", "## Libraries", ""]
        lines += [f"- {name} {version}" for name, version in self.libraries.items()]
        if self.notes:
            lines += ["", "## Notes", "", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- what the card measures
def library_versions() -> dict[str, str]:
    """Versions of the libraries that compute features and weights (recorded, and shown)."""
    import platform

    import numpy
    import polars
    import pyarrow
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "polars": polars.__version__,
        "pyarrow": pyarrow.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }


def classification_metrics(predicted: pl.Series, truth: pl.Series, classes: list[str]) -> dict:
    """Accuracy, macro-F1, per-class precision / recall / F1 / support and the confusion matrix.

    A null prediction (abstention) is wrong for accuracy and recall. Macro-F1 averages over the
    model's classes plus any label that only the truth has (which the model can never get right).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    truth_values = truth.cast(pl.String).to_numpy().astype(object)
    guesses = predicted.cast(pl.String).fill_null(_ABSTAINED).to_numpy().astype(object)
    labels = list(classes) + sorted(set(truth_values.tolist()) - set(classes))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth_values, guesses, labels=labels, zero_division=0
    )
    matrix_labels = labels + [_ABSTAINED]
    matrix = confusion_matrix(truth_values, guesses, labels=matrix_labels)
    return {
        "rows": int(truth_values.size),
        "abstained": int((guesses == _ABSTAINED).sum()),
        "accuracy": float(np.mean(truth_values == guesses)) if truth_values.size else 0.0,
        "macro_f1": float(np.mean(f1)) if labels else 0.0,
        "per_class": {
            label: {
                "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)
            }
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
        "confusion_matrix": {
            "labels": [label if label != _ABSTAINED else None for label in matrix_labels],
            "matrix": matrix.tolist(),
        },
    }


def review_threshold(
    predicted: pl.Series,
    confidence: pl.Series,
    truth: pl.Series,
    target: float,
    min_rows: int = REVIEW_MIN_ROWS,
) -> tuple[float | None, float, float | None]:
    """Lowest confidence t with precision >= target over the rows with confidence >= t.

    Returns (t, coverage, precision at t; None when t is). Only thresholds with at least
    `min_rows` rows above them count: a precision measured on three rows promises nothing.
    t is None (review everything) when no threshold qualifies; abstentions are never covered.
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


def measure_throughput(
    predict: Callable[[pl.Series], object], texts: pl.Series, min_rows: int = 20_000
) -> float:
    """Texts per second of `predict` on `texts` repeated to at least `min_rows` (best of 3)."""
    if len(texts) == 0:
        return 0.0
    sample = pl.concat([texts] * max(1, -(-min_rows // len(texts))))
    best = np.inf
    for _ in range(3):
        started = time.perf_counter()
        predict(sample)
        best = min(best, time.perf_counter() - started)
    return len(sample) / best


def validation_mask(labels: pl.Series, share: float, seed: int) -> pl.Series:
    """Stratified random `share` of each class (classes with one row stay in training)."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"validation_share={share} must be between 0 and 1")
    rng = np.random.default_rng(seed)
    codes = np.unique(labels.cast(pl.String).fill_null("").to_numpy(), return_inverse=True)[1]
    order = np.lexsort((rng.random(codes.size), codes))
    sorted_codes = codes[order]
    group_start = np.searchsorted(sorted_codes, sorted_codes, side="left")
    group_size = np.searchsorted(sorted_codes, sorted_codes, side="right") - group_start
    rank = np.arange(codes.size) - group_start
    take = np.floor(group_size * share + 0.5).astype(np.int64)
    take = np.where(group_size > 1, np.minimum(take, group_size - 1), 0)
    mask = np.zeros(codes.size, dtype=bool)
    mask[order] = rank < take
    return pl.Series(mask)


def top_class(scores: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Index and calibrated probability of the best class, without the full softmax copy."""
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
