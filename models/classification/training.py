"""Train a city's request classifier from labelled history and make it the city's default.

One run, in this order (see `models.classification.split` for the split):
1. hold out the latest 20% of rows by time (or a stratified random 20%): the holdout;
2. split the rest into a fit part and a validation slice (latest 10% of the training period);
3. train every candidate and the TF-IDF baseline on the fit part, calibrate and judge them on
   the validation slice, select one that reaches the baseline there
   (`models.classification.candidates`), train it again on the whole training period;
4. train the optional second level (its labels constrained to the category's: `levels`);
5. train the TF-IDF baseline on the same training period;
6. score the holdout once, with the shipped model and the baseline; save the artifact, the holdout
   predictions and the model card (`models.classification.training_report`) into
   `workspace.model(name)`.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl

from models.classification.artifact import (
    HOLDOUT_FILE,
    HOLDOUT_TRUTH,
    HOLDOUT_TRUTH_LEVEL2,
    RequestTextModel,
)
from models.classification.baseline import evaluate_baseline
from models.classification.candidates import (
    DEFAULT_CANDIDATES,
    KIND_OF,
    refit,
    select,
    try_candidates,
)
from models.classification.levels import SecondLevel
from models.classification.metrics import holdout_report, measure_throughput
from models.classification.request_classifier import DEFAULT_MODEL_POINTER
from models.classification.split import HOLDOUT_SHARE, VALIDATION_SHARE, split_mask
from models.classification.training_report import (
    HoldoutScore,
    Selection,
    TrainingColumns,
    TrainingSplit,
    model_card,
    training_summary,
)
from plumbing.workspace import Workspace
from schemas.requests import CATEGORY, CATEGORY_CONFIDENCE

MIN_ROWS = 50


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
    columns = TrainingColumns(text, label, label2, time)
    split = _split(_labelled_rows(frame, columns), columns, seed)
    selection = _select_and_refit(split, columns, candidates or list(DEFAULT_CANDIDATES), seed,
                                  name)
    level2 = _second_level(split, columns, seed) if label2 else None
    baseline = evaluate_baseline(split.train[text], split.train[label], split.holdout[text],
                                 split.holdout[label])
    artifact = RequestTextModel(selection.model, KIND_OF[selection.chosen.name], city,
                                columns.training_record(), level2)
    score = _score_holdout(artifact, split.holdout, columns)
    artifact.card = model_card(name, city, seed, columns, split, selection, artifact, score,
                               baseline, round(_clock() - started, 3))
    target = workspace.model(name)
    artifact.save(target)
    score.predictions.write_parquet(target / HOLDOUT_FILE)
    if city:
        (workspace.city(city) / DEFAULT_MODEL_POINTER).write_text(name, encoding="utf-8")
    return training_summary(name, target, seed, columns, split, selection, score, baseline,
                            artifact.card)


def _labelled_rows(frame: pl.DataFrame, columns: TrainingColumns) -> pl.DataFrame:
    """Rows with a label, text and labels as strings; refuses a history too small to split."""
    text, label, label2, time = columns.text, columns.label, columns.label2, columns.time
    _check_columns(frame, [text, label, *([time] if time else []), *([label2] if label2 else [])])
    frame = frame.filter(pl.col(label).is_not_null() & (pl.col(label).cast(pl.String) != ""))
    if frame.height < MIN_ROWS:
        raise TrainingDataError(
            f"only {frame.height} labelled rows; at least {MIN_ROWS} are needed"
        )
    return frame.with_columns(pl.col(text).cast(pl.String), pl.col(label).cast(pl.String),
                              *([pl.col(label2).cast(pl.String)] if label2 else []))


def _split(rows: pl.DataFrame, columns: TrainingColumns, seed: int) -> TrainingSplit:
    train, holdout = _parts(rows, columns.label, columns.time, HOLDOUT_SHARE, seed)
    fit, validation = _parts(train, columns.label, columns.time, VALIDATION_SHARE, seed + 1)
    return TrainingSplit(rows, train, fit, validation, holdout)


def _select_and_refit(
    split: TrainingSplit, columns: TrainingColumns, names: list[str], seed: int, name: str
) -> Selection:
    text, label = columns.text, columns.label
    fit, validation = (split.fit[text], split.fit[label]), (split.validation[text],
                                                            split.validation[label])
    trials = try_candidates(names, fit, validation, seed)
    baseline = evaluate_baseline(*fit, *validation, throughput_rows=0)
    chosen, reaches = select(trials, baseline["macro_f1"])
    refit_started = _clock()
    model = refit(chosen, split.train[text], split.train[label], seed, name)
    return Selection(trials, chosen, model, _clock() - refit_started, baseline, reaches)


def _second_level(split: TrainingSplit, columns: TrainingColumns, seed: int) -> SecondLevel:
    text, label, label2 = columns.text, columns.label, columns.label2
    train, validation = split.train, split.validation
    return SecondLevel.train(label2, train[text], train[label], train[label2],
                             (validation[text], validation[label2]), seed)


def _score_holdout(
    artifact: RequestTextModel, holdout: pl.DataFrame, columns: TrainingColumns
) -> HoldoutScore:
    """Predictions carry the truth (and the time, if any) so the card can be recomputed."""
    label2, time = columns.label2, columns.time
    predictions = artifact.predict_batch(holdout[columns.text]).with_columns(
        holdout[columns.label].alias(HOLDOUT_TRUTH),
        *([holdout[label2].alias(HOLDOUT_TRUTH_LEVEL2)] if label2 else []),
        *([holdout[time]] if time else []),
    )
    model = artifact.model
    report = holdout_report(predictions, CATEGORY, CATEGORY_CONFIDENCE, HOLDOUT_TRUTH,
                            model.classes, model.review_threshold)
    throughput = measure_throughput(artifact.predict_batch, holdout[columns.text])
    return HoldoutScore(predictions, report, throughput)


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
