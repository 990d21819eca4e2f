"""Train a city's request classifier from labelled history and make it the city's default.

The split is decided here, once: with a time column the latest 20% of rows are held out (no
future rows in training), otherwise a stratified random 20%. The holdout is scored once, after
training, and the figures go into the model card beside the artifact.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from models.request_classifier import DEFAULT_MODEL_POINTER
from models.text_classifier import TextClassifier
from pipelines.workspace import Workspace

HOLDOUT_SHARE = 0.2


class TrainingDataError(ValueError):
    """The labelled history cannot be used for training; the message says what to change."""


def read_table(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise TrainingDataError(f"training data {path} does not exist")
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


def holdout_mask(frame: pl.DataFrame, label: str, time: str | None, seed: int) -> np.ndarray:
    """True for holdout rows: the latest 20% by `time`, else a stratified random 20%."""
    n = frame.height
    if time:
        order = np.argsort(frame[time].to_numpy(), kind="stable")
        mask = np.zeros(n, dtype=bool)
        mask[order[n - round(n * HOLDOUT_SHARE):]] = True
        return mask
    rng = np.random.default_rng(seed)
    mask = np.zeros(n, dtype=bool)
    labels = frame[label].to_numpy()
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        rng.shuffle(rows)
        mask[rows[: round(rows.size * HOLDOUT_SHARE)]] = True
    return mask


def train_classifier(
    workspace: Workspace, frame: pl.DataFrame, text: str, label: str, name: str,
    city: str | None = None, time: str | None = None, seed: int = 0,
) -> dict:
    for column in (text, label, *([time] if time else [])):
        if column not in frame.columns:
            raise TrainingDataError(f"column {column!r} not in the training data; it has {frame.columns}")
    frame = frame.filter(pl.col(label).is_not_null() & (pl.col(label).cast(pl.String) != ""))
    if frame.height < 50:
        raise TrainingDataError(f"only {frame.height} labelled rows; at least 50 are needed")
    frame = frame.with_columns(pl.col(text).cast(pl.String), pl.col(label).cast(pl.String))
    holdout = pl.Series(holdout_mask(frame, label, time, seed))
    train, test = frame.filter(~holdout), frame.filter(holdout)
    model = TextClassifier.train(train[text], train[label], seed=seed)
    holdout_metrics = model.evaluate(test[text], test[label])
    target = workspace.model(name)
    model.save(target)
    summary = {
        "name": name, "path": str(target), "rows": frame.height, "train_rows": train.height,
        "holdout_rows": test.height, "split": f"temporal by {time}" if time else "stratified random",
        "accuracy": holdout_metrics["accuracy"], "macro_f1": holdout_metrics["macro_f1"],
    }
    (target / "holdout.json").write_text(json.dumps(holdout_metrics | summary, indent=2, default=str))
    if city:
        (workspace.city(city) / DEFAULT_MODEL_POINTER).write_text(name, encoding="utf-8")
    return summary


def train_classifier_from_file(
    workspace: Workspace, data: Path, text: str, label: str, city: str | None = None,
    name: str | None = None, time: str | None = None, seed: int = 0,
) -> dict:
    frame = read_table(data)
    return train_classifier(
        workspace, frame, text, label, name or f"{city or data.stem}-classifier", city, time, seed
    )
