"""What one training run produced, and how it is reported: the model card and the CLI summary.

Kept apart from `models.classification.training` (which runs the steps) so the card's contents
can be read and extended in one place; every figure here was computed by the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from models.classification.artifact import HOLDOUT_TRUTH, HOLDOUT_TRUTH_LEVEL2, RequestTextModel
from models.classification.calibration import (
    CONFIDENCE_FLOOR,
    PRECISION_TARGET,
    precision_threshold,
)
from models.classification.candidates import SELECTION_TOLERANCE, Model, Trial
from models.classification.levels import SecondLevel
from models.classification.metrics import classification_metrics
from models.classification.model_card import ModelCard, library_versions
from models.classification.split import HOLDOUT_SHARE, VALIDATION_SHARE, split_description
from schemas.requests import CATEGORY, CATEGORY_CONFIDENCE

REVIEW_RULE = (
    f"needs_review below the lowest calibrated confidence whose validation precision reaches "
    f"{PRECISION_TARGET:.0%} (>= 20 rows), never below {CONFIDENCE_FLOOR}"
)
SELECTION_RULE = (
    "candidates and the TF-IDF baseline are trained on the fit part and scored on the validation "
    "slice; only candidates at or above the baseline's macro-F1 there may ship: the best of those, "
    f"or the cheapest within {SELECTION_TOLERANCE} of it (if none reaches it, the best one)"
)
NOTES = [
    "Candidates were chosen on the validation slice; the holdout was scored once.",
    ("The shipped model was trained again on the whole training period with the "
    "temperature and review threshold calibrated on the validation slice."),
    "Texts without a Cyrillic or Latin letter or a word get no category (review).",
]


@dataclass(frozen=True)
class TrainingColumns:
    """Which columns of the history hold the text, the label(s) and the filing time."""

    text: str
    label: str
    label2: str | None
    time: str | None

    def training_record(self) -> dict[str, str | None]:
        """As the artifact records them (`RequestTextModel.training`)."""
        return {"text": self.text, "label": self.label, "label2": self.label2, "time": self.time}


@dataclass(frozen=True)
class TrainingSplit:
    """The labelled rows and the parts one run cuts them into (train = fit + validation)."""

    rows: pl.DataFrame
    train: pl.DataFrame
    fit: pl.DataFrame
    validation: pl.DataFrame
    holdout: pl.DataFrame


@dataclass(frozen=True)
class Selection:
    """Every candidate's trial, the one chosen, and its model refit on the training period."""

    trials: list[Trial]
    chosen: Trial
    model: Model
    refit_seconds: float
    baseline: dict  # the TF-IDF baseline trained on the fit part, scored on the validation slice
    reaches_baseline: bool  # the chosen candidate's validation macro-F1 >= the baseline's

    @property
    def record(self) -> dict:
        """How the model was chosen, as the card and the CLI report it."""
        shipped, floor = self.chosen.figures["macro_f1"], self.baseline["macro_f1"]
        return {
            "rule": SELECTION_RULE, "validation_macro_f1": shipped,
            "baseline_validation_macro_f1": floor, "reaches_baseline": self.reaches_baseline,
            "verdict": (f"validation macro-F1 {shipped:.4f} >= baseline {floor:.4f} on the same slice"
                        if self.reaches_baseline else
                        f"BELOW THE BASELINE: no candidate reached the baseline's validation "
                        f"macro-F1 {floor:.4f}; shipped the best, {shipped:.4f}"),
        }


@dataclass(frozen=True)
class HoldoutScore:
    """The shipped model on the holdout: its predictions (saved), their figures, its speed."""

    predictions: pl.DataFrame
    report: dict
    throughput: float


def model_card(
    name: str, city: str | None, seed: int, columns: TrainingColumns, split: TrainingSplit,
    selection: Selection, artifact: RequestTextModel, score: HoldoutScore, baseline: dict,
    training_seconds: float,
) -> ModelCard:
    model, chosen = selection.model, selection.chosen
    support = split.train[columns.label].value_counts()
    return ModelCard(
        name=name, version=model.version, model_version=model.model_version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        data=_data_description(city, seed, columns, split),
        classes=model.classes,
        class_support=dict(zip(support[columns.label].to_list(), support["count"].to_list(),
                               strict=True)),
        selected=chosen.name, candidates=[trial.figures for trial in selection.trials],
        holdout=score.report, baseline=baseline,
        review={"rule": REVIEW_RULE, "precision_target": PRECISION_TARGET,
                "confidence_floor": CONFIDENCE_FLOOR, "threshold": model.review_threshold,
                "validation_coverage": chosen.figures["validation_coverage"],
                "validation_precision": chosen.figures["validation_precision"]},
        training_seconds=training_seconds,
        inference_texts_per_second=round(score.throughput),
        model={"estimator": model.estimator, "kind": artifact.kind,
               "temperature": model.temperature,
               "refit_seconds": round(selection.refit_seconds, 3)},
        libraries=library_versions(),
        level2=_level2_figures(artifact.level2, score.predictions) if artifact.level2 else None,
        selection=selection.record,
        notes=list(NOTES) + ([] if selection.reaches_baseline else [selection.record["verdict"]]),
    )


def training_summary(
    name: str, target: Path, seed: int, columns: TrainingColumns, split: TrainingSplit,
    selection: Selection, score: HoldoutScore, baseline: dict, card: ModelCard,
) -> dict:
    """What `urbanpulse train classifier` prints."""
    report, model = score.report, selection.model
    return {
        "name": name, "path": str(target), "rows": split.rows.height,
        "train_rows": split.train.height, "holdout_rows": split.holdout.height,
        "split": split_description(columns.time, HOLDOUT_SHARE, seed),
        "selected": selection.chosen.name, "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"], "baseline_macro_f1": baseline["macro_f1"],
        "review_threshold": model.review_threshold,
        "coverage_at_threshold": report["coverage_at_threshold"],
        "coverage_at_target": report["coverage_at_target"],
        "training_seconds": card.training_seconds,
        "texts_per_second": card.inference_texts_per_second,
        "baseline_texts_per_second": baseline["texts_per_second"],
        "selection": selection.record,
        **({"level2": card.level2} if card.level2 else {}),
    }


def _data_description(
    city: str | None, seed: int, columns: TrainingColumns, split: TrainingSplit
) -> dict:
    text, label, label2, time = columns.text, columns.label, columns.label2, columns.time
    return {
        "columns": f"text {text!r}, label {label!r}"
        + (f", second level {label2!r}" if label2 else "") + (f", time {time!r}" if time else ""),
        "rows": split.rows.height, "train_rows": split.train.height, "fit_rows": split.fit.height,
        "validation_rows": split.validation.height, "holdout_rows": split.holdout.height,
        "holdout": split_description(time, HOLDOUT_SHARE, seed),
        "validation": split_description(time, VALIDATION_SHARE, seed + 1)
        + " of the training period",
        "city": city,
    }


def _level2_figures(level2: SecondLevel, predictions: pl.DataFrame) -> dict:
    """The second level on the holdout: alone, jointly with the category, and its consistency."""
    truth = predictions[HOLDOUT_TRUTH_LEVEL2]
    labelled = truth.is_not_null()
    metrics = classification_metrics(
        predictions[level2.label].filter(labelled), truth.filter(labelled), level2.model.classes
    )
    category, reason = predictions[CATEGORY], predictions[level2.label]
    pair = category + "\x1f" + reason
    true_pair = predictions[HOLDOUT_TRUTH] + "\x1f" + truth
    allowed = pl.Series([f"{parent}\x1f{child}" for parent, children in level2.allowed.items()
                         for child in children])
    decided = reason.is_not_null()
    joint = predictions[CATEGORY_CONFIDENCE] * predictions[level2.confidence_column]
    _, coverage, precision = precision_threshold(pair, joint, true_pair, PRECISION_TARGET)
    return {"label": level2.label, "classes": len(level2.model.classes),
            "holdout_accuracy": metrics["accuracy"], "holdout_macro_f1": metrics["macro_f1"],
            "holdout_joint_accuracy": float((pair == true_pair).fill_null(False).mean() or 0.0),
            "holdout_consistent_share": (float(pair.filter(decided).is_in(allowed.to_list()).mean())
                                         if decided.any() else 1.0),
            "holdout_joint_coverage_at_target": coverage,
            "holdout_joint_precision_at_target": precision,
            "rule": "chosen among the labels seen under the predicted category in training; "
                    "joint confidence = category confidence x reason confidence"}
