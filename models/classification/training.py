"""Train a city's request classifier from labelled history and make it the city's default.

One run, in this order (see `models.classification.split` for the split):
1. hold out the latest 20% of rows by time (or a stratified random 20%): the holdout;
2. split the rest into a fit part and a validation slice (latest 10% of the training period);
3. train every candidate on the fit part, calibrate and judge it on the validation slice,
   select one (`models.classification.candidates`), train it again on the whole training period;
4. train the optional second level the same way;
5. train the TF-IDF baseline on the same training period;
6. score the holdout once, with the shipped model and the baseline; save the artifact, the holdout
   predictions and the model card into `workspace.model(name)`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from models.classification.baseline import evaluate_baseline
from models.classification.artifact import (
    HOLDOUT_FILE,
    HOLDOUT_TRUTH,
    HOLDOUT_TRUTH_LEVEL2,
    RequestTextModel,
)
from models.classification.calibration import CONFIDENCE_FLOOR, PRECISION_TARGET
from models.classification.candidates import CANDIDATES, KIND_OF, refit, select, try_candidates
from models.classification.levels import SecondLevel
from models.classification.metrics import classification_metrics, holdout_report, measure_throughput
from models.classification.split import (
    HOLDOUT_SHARE,
    VALIDATION_SHARE,
    split_description,
    split_mask,
)
from models.classification.model_card import ModelCard, library_versions
from models.classification.request_classifier import DEFAULT_MODEL_POINTER
from plumbing.workspace import Workspace
from schemas.requests import CATEGORY, CATEGORY_CONFIDENCE

MIN_ROWS = 50
REVIEW_RULE = (
    f"needs_review below the lowest calibrated confidence whose validation precision reaches "
    f"{PRECISION_TARGET:.0%} (>= 20 rows), never below {CONFIDENCE_FLOOR}"
)


class TrainingDataError(ValueError):
    """The labelled history cannot be used for training; the message says what to change."""


def read_table(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise TrainingDataError(f"training data {path} does not exist")
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


def _check_columns(frame: pl.DataFrame, columns: list[str]) -> None:
    for column in columns:
        if column not in frame.columns:
            raise TrainingDataError(
                f"column {column!r} not in the training data; it has {frame.columns}"
            )


def _parts(frame: pl.DataFrame, label: str, time_column: str | None, share: float, seed: int):
    times = frame[time_column] if time_column else None
    mask = pl.Series(split_mask(frame[label], times, share, seed))
    return frame.filter(~mask), frame.filter(mask)


def train_classifier(
    workspace: Workspace, frame: pl.DataFrame, text: str, label: str, name: str,
    city: str | None = None, time: str | None = None, seed: int = 0, label2: str | None = None,
    candidates: list[str] | None = None,
) -> dict:
    """Train, select, evaluate and save; returns the summary the CLI prints."""
    started = _clock()
    _check_columns(frame, [text, label, *([time] if time else []), *([label2] if label2 else [])])
    frame = frame.filter(pl.col(label).is_not_null() & (pl.col(label).cast(pl.String) != ""))
    if frame.height < MIN_ROWS:
        raise TrainingDataError(f"only {frame.height} labelled rows; at least {MIN_ROWS} are needed")
    frame = frame.with_columns(pl.col(text).cast(pl.String), pl.col(label).cast(pl.String),
                               *([pl.col(label2).cast(pl.String)] if label2 else []))
    train, test = _parts(frame, label, time, HOLDOUT_SHARE, seed)
    fit, validation = _parts(train, label, time, VALIDATION_SHARE, seed + 1)

    names = candidates or list(CANDIDATES)
    trials = try_candidates(names, (fit[text], fit[label]), (validation[text], validation[label]), seed)
    chosen = select(trials)
    refit_started = _clock()
    model = refit(chosen, train[text], train[label], seed, name)
    refit_seconds = _clock() - refit_started
    level2 = None
    if label2:
        level2 = SecondLevel.train(label2, train[text], train[label], train[label2],
                                   (validation[text], validation[label2]), seed)
    baseline = evaluate_baseline(train[text], train[label], test[text], test[label])

    artifact = RequestTextModel(model, KIND_OF[chosen.name], city,
                                {"text": text, "label": label, "label2": label2, "time": time},
                                level2)
    predictions = artifact.predict_batch(test[text]).with_columns(
        test[label].alias(HOLDOUT_TRUTH),
        *([test[label2].alias(HOLDOUT_TRUTH_LEVEL2)] if label2 else []),
        *([test[time]] if time else []),
    )
    report = holdout_report(predictions, CATEGORY, CATEGORY_CONFIDENCE, HOLDOUT_TRUTH,
                            model.classes, model.review_threshold)
    throughput = measure_throughput(artifact.predict_batch, test[text])
    support = train[label].value_counts()
    artifact.card = ModelCard(
        name=name, version=model.version, model_version=model.model_version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        data={
            "columns": f"text {text!r}, label {label!r}"
            + (f", second level {label2!r}" if label2 else "") + (f", time {time!r}" if time else ""),
            "rows": frame.height, "train_rows": train.height, "fit_rows": fit.height,
            "validation_rows": validation.height, "holdout_rows": test.height,
            "holdout": split_description(time, HOLDOUT_SHARE, seed),
            "validation": split_description(time, VALIDATION_SHARE, seed + 1)
            + " of the training period",
            "city": city,
        },
        classes=model.classes,
        class_support=dict(zip(support[label].to_list(), support["count"].to_list(), strict=True)),
        selected=chosen.name, candidates=[trial.figures for trial in trials], holdout=report,
        baseline=baseline,
        review={"rule": REVIEW_RULE, "precision_target": PRECISION_TARGET,
                "confidence_floor": CONFIDENCE_FLOOR, "threshold": model.review_threshold,
                "validation_coverage": chosen.figures["validation_coverage"],
                "validation_precision": chosen.figures["validation_precision"]},
        training_seconds=round(_clock() - started, 3),
        inference_texts_per_second=round(throughput),
        model={"estimator": model.estimator, "kind": artifact.kind,
               "temperature": model.temperature, "refit_seconds": round(refit_seconds, 3)},
        libraries=library_versions(),
        level2=_level2_figures(level2, predictions) if level2 else None,
        notes=[
            "Candidates were chosen on the validation slice; the holdout was scored once.",
            ("The shipped model was trained again on the whole training period with the "
            "temperature and review threshold calibrated on the validation slice."),
            "Texts without a Cyrillic or Latin letter or a word get no category (review).",
        ],
    )
    target = workspace.model(name)
    artifact.save(target)
    predictions.write_parquet(target / HOLDOUT_FILE)
    if city:
        (workspace.city(city) / DEFAULT_MODEL_POINTER).write_text(name, encoding="utf-8")
    return {
        "name": name, "path": str(target), "rows": frame.height, "train_rows": train.height,
        "holdout_rows": test.height, "split": split_description(time, HOLDOUT_SHARE, seed),
        "selected": chosen.name, "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
        "baseline_macro_f1": baseline["macro_f1"], "review_threshold": model.review_threshold,
        "coverage_at_threshold": report["coverage_at_threshold"],
        "coverage_at_target": report["coverage_at_target"],
        "training_seconds": artifact.card.training_seconds,
        "texts_per_second": artifact.card.inference_texts_per_second,
        "baseline_texts_per_second": baseline["texts_per_second"],
    }


def _level2_figures(level2: SecondLevel, predictions: pl.DataFrame) -> dict:
    truth = predictions[HOLDOUT_TRUTH_LEVEL2]
    labelled = truth.is_not_null()
    metrics = classification_metrics(
        predictions[level2.label].filter(labelled), truth.filter(labelled), level2.model.classes
    )
    return {"label": level2.label, "classes": len(level2.model.classes),
            "holdout_accuracy": metrics["accuracy"], "holdout_macro_f1": metrics["macro_f1"],
            "rule": "chosen among the labels seen under the predicted category in training"}


def _clock() -> float:
    return time.perf_counter()


def train_classifier_from_file(
    workspace: Workspace, data: Path, text: str, label: str, city: str | None = None,
    name: str | None = None, time: str | None = None, seed: int = 0, label2: str | None = None,
) -> dict:
    frame = read_table(data)
    return train_classifier(
        workspace, frame, text, label, name or f"{city or data.stem}-classifier", city, time, seed,
        label2,
    )
