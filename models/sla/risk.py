"""SLA breach risk: the probability that an open request misses its due time.

Trained on a city's own history, from what is known when a request comes in: its category,
department and district, the local hour and weekday, its SLA in days, and the department's
backlog at that moment (requests already open). The label is `closed after sla_due_datetime`;
a request still open past its due time at the snapshot is a breach, one still open before it is
not yet decided and is left out of training.

Model: logistic regression over one-hot categories (rare values pooled) and the numeric
features, then isotonic calibration on a later slice of time, so that "0.7" means that about 7
of 10 such requests were late. Evaluation is temporal: the latest `TEST_SHARE` of requests (by
request time) are never seen in fitting or calibrating; the card gives their AUC, Brier score,
base rate and a reliability table. Why not gradient boosting: the artifact is plain JSON
(coefficients, vocabulary, the isotonic curve), like every UrbanPulse model, with no pickle;
a linear model over these features is what the card has to beat, and it says how well it does.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from schemas import requests as rq
from schemas.sla import ALREADY_OVERDUE, BACKLOG, BREACH_PROBABILITY

MODEL_VERSION = "1"
CATEGORICAL = (rq.CATEGORY, rq.DEPARTMENT, rq.DISTRICT_ID, "hour", "weekday")
NUMERIC = ("log_backlog", "sla_days", "log_backlog_per_sla_day")
MIN_VALUE_COUNT = 20  # rarer values share one "other" column
TEST_SHARE = 0.2
CALIBRATION_SHARE = 0.2  # of the part before the test slice, its latest requests
MIN_TRAINING_ROWS = 200
BREACHED = "breached"
OTHER = "__other__"
ARTIFACT = "sla_risk.json"


class NotEnoughHistoryError(ValueError):
    """Too few requests with a known outcome to learn from."""


@dataclass
class SlaRiskCard:
    city: str
    trained_at: str
    rows_train: int
    rows_calibration: int
    rows_test: int
    base_rate_test: float
    auc_test: float
    brier_test: float
    brier_base_rate: float  # the Brier score of always predicting the training base rate
    reliability: list[dict] = field(default_factory=list)  # per predicted decile: predicted vs observed
    features: list[str] = field(default_factory=list)


@dataclass
class SlaRiskModel:
    """Everything scoring needs, as JSON: vocabulary, coefficients, scaling, isotonic curve."""

    vocabulary: dict[str, list[str]]
    coefficients: list[float]
    intercept: float
    numeric_mean: list[float]
    numeric_scale: list[float]
    curve_x: list[float]
    curve_y: list[float]
    timezone: str
    card: SlaRiskCard
    version: str = MODEL_VERSION

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ARTIFACT
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        (folder / "MODEL_CARD.md").write_text(card_markdown(self.card), encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: Path) -> SlaRiskModel:
        path = folder / ARTIFACT
        if not path.is_file():
            raise FileNotFoundError(f"no SLA risk model in {folder}: train one with `urbanpulse train sla-risk --city C`")
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{**raw, "card": SlaRiskCard(**raw["card"])})

    def predict(self, features: pl.DataFrame) -> np.ndarray:
        """Calibrated breach probabilities of `features` rows (from `request_features`)."""
        raw = _design(features, self.vocabulary, np.array(self.numeric_mean), np.array(self.numeric_scale))
        score = raw @ np.array(self.coefficients) + self.intercept
        linear = 1.0 / (1.0 + np.exp(-score))
        return np.interp(linear, self.curve_x, self.curve_y)


def with_backlog(requests: pl.DataFrame) -> pl.DataFrame:
    """`requests` with `backlog`: requests of the same department requested before and not closed
    by the moment each one came in (two sorted searches per department, no pairwise join)."""
    frame = requests.with_row_index("__row")
    parts = []
    for (_department,), rows in frame.partition_by(rq.DEPARTMENT, as_dict=True).items():
        opened = np.sort(rows[rq.REQUESTED_DATETIME].dt.epoch("us").to_numpy())
        closed = np.sort(rows[rq.CLOSED_DATETIME].drop_nulls().dt.epoch("us").to_numpy())
        at = rows[rq.REQUESTED_DATETIME].dt.epoch("us").to_numpy()
        backlog = np.searchsorted(opened, at, side="left") - np.searchsorted(closed, at, side="right")
        parts.append(rows.select("__row").with_columns(pl.Series(BACKLOG, np.maximum(backlog, 0), pl.Int64)))
    return frame.join(pl.concat(parts), on="__row", how="left").sort("__row").drop("__row")


def request_features(requests: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """The model's inputs of each request (the request columns plus `backlog`)."""
    local = pl.col(rq.REQUESTED_DATETIME).dt.convert_time_zone(timezone)
    sla_days = ((pl.col(rq.SLA_DUE_DATETIME) - pl.col(rq.REQUESTED_DATETIME)).dt.total_seconds() / 86_400).clip(0)
    return requests.with_columns(
        *(pl.col(c).cast(pl.String).fill_null("?") for c in (rq.CATEGORY, rq.DEPARTMENT, rq.DISTRICT_ID)),
        local.dt.hour().cast(pl.String).alias("hour"), local.dt.weekday().cast(pl.String).alias("weekday"),
        pl.col(BACKLOG).log1p().alias("log_backlog"), sla_days.alias("sla_days"),
        (pl.col(BACKLOG).log1p() / (sla_days + 1)).alias("log_backlog_per_sla_day"),
    )


def labelled(requests: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Requests with a known outcome at `as_of` and `breached`: closed after the due time, or
    still open past it. Requests without a due time are left out."""
    due, closed = pl.col(rq.SLA_DUE_DATETIME), pl.col(rq.CLOSED_DATETIME)
    known = due.is_not_null() & (closed.is_not_null() | (due < pl.lit(as_of)))
    return requests.filter(known).with_columns(
        pl.when(closed.is_not_null()).then(closed > due).otherwise(True).alias(BREACHED))


def _design(frame: pl.DataFrame, vocabulary: dict[str, list[str]], mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    blocks = []
    for column in CATEGORICAL:
        values = vocabulary[column]
        index = {v: i for i, v in enumerate(values)}
        codes = np.array([index.get(v, index[OTHER]) for v in frame[column].to_list()])
        block = np.zeros((frame.height, len(values)))
        block[np.arange(frame.height), codes] = 1.0
        blocks.append(block)
    numeric = (frame.select(NUMERIC).to_numpy().astype(float) - mean) / scale
    return np.hstack([*blocks, np.nan_to_num(numeric)])


def _vocabulary(frame: pl.DataFrame) -> dict[str, list[str]]:
    vocabulary = {}
    for column in CATEGORICAL:
        counts = frame[column].value_counts()
        kept = sorted(counts.filter(pl.col("count") >= MIN_VALUE_COUNT)[column].to_list())
        vocabulary[column] = [*kept, OTHER]
    return vocabulary


def reliability(predicted: np.ndarray, observed: np.ndarray, bins: int = 10) -> list[dict]:
    """Per decile of the predictions: their mean and the observed share of breaches."""
    order = np.argsort(predicted, kind="stable")
    table = []
    for part in np.array_split(order, bins):
        if len(part):
            table.append({"predicted": round(float(predicted[part].mean()), 4),
                          "observed": round(float(observed[part].mean()), 4), "requests": len(part)})
    return table


def train(requests: pl.DataFrame, city: str, timezone: str, as_of: datetime | None = None) -> SlaRiskModel:
    """Fit, calibrate and evaluate on a temporal split of `requests` (the city's published rows)."""
    as_of = as_of or requests[rq.REQUESTED_DATETIME].max()
    known = labelled(with_backlog(requests), as_of).sort(rq.REQUESTED_DATETIME)
    if known.height < MIN_TRAINING_ROWS or known[BREACHED].n_unique() < 2:
        raise NotEnoughHistoryError(
            f"city {city!r} has {known.height:,} requests with a due time and a known outcome, of one kind only or "
            f"fewer than {MIN_TRAINING_ROWS}: ingest more history (closed requests) before training the SLA risk model")
    frame = request_features(known, timezone)
    test_start = math.floor(frame.height * (1 - TEST_SHARE))
    calibration_start = math.floor(test_start * (1 - CALIBRATION_SHARE))
    fit, calibrate, test = frame[:calibration_start], frame[calibration_start:test_start], frame[test_start:]
    vocabulary = _vocabulary(fit)
    numeric = fit.select(NUMERIC).to_numpy().astype(float)
    mean, scale = np.nanmean(numeric, axis=0), np.nanstd(numeric, axis=0)
    scale[scale == 0] = 1.0
    y_fit = fit[BREACHED].to_numpy()
    linear = LogisticRegression(C=1.0, max_iter=1000).fit(_design(fit, vocabulary, mean, scale), y_fit)
    raw_calibration = linear.predict_proba(_design(calibrate, vocabulary, mean, scale))[:, 1]
    curve = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
        raw_calibration, calibrate[BREACHED].to_numpy())
    model = SlaRiskModel(
        vocabulary=vocabulary, coefficients=linear.coef_[0].tolist(), intercept=float(linear.intercept_[0]),
        numeric_mean=mean.tolist(), numeric_scale=scale.tolist(), curve_x=curve.X_thresholds_.tolist(),
        curve_y=curve.y_thresholds_.tolist(), timezone=timezone, card=None)  # type: ignore[arg-type]
    predicted, observed = model.predict(test), test[BREACHED].to_numpy().astype(float)
    base = float(y_fit.mean())
    model.card = SlaRiskCard(
        city=city, trained_at=datetime.now(UTC).isoformat(timespec="seconds"), rows_train=fit.height,
        rows_calibration=calibrate.height, rows_test=test.height, base_rate_test=float(observed.mean()),
        auc_test=float(roc_auc_score(observed, predicted)) if 0 < observed.mean() < 1 else float("nan"),
        brier_test=float(brier_score_loss(observed, predicted)),
        brier_base_rate=float(brier_score_loss(observed, np.full(len(observed), base))),
        reliability=reliability(predicted, observed), features=[*CATEGORICAL, *NUMERIC])
    return model


def score_open(model: SlaRiskModel, requests: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """Every open request with a due time, with its breach probability at `as_of` (1 when it is
    already past its due time)."""
    frame = with_backlog(requests)
    open_rows = frame.filter(pl.col(rq.CLOSED_DATETIME).is_null() & pl.col(rq.SLA_DUE_DATETIME).is_not_null())
    if not open_rows.height:
        return open_rows.with_columns(pl.lit(None, pl.Float64).alias(BREACH_PROBABILITY))
    features = request_features(open_rows, model.timezone)
    overdue = (pl.col(rq.SLA_DUE_DATETIME) < pl.lit(as_of)).alias(ALREADY_OVERDUE)
    probability = pl.Series(BREACH_PROBABILITY, model.predict(features))
    return open_rows.with_columns(overdue, probability).with_columns(
        pl.when(pl.col(ALREADY_OVERDUE)).then(1.0).otherwise(pl.col(BREACH_PROBABILITY)).alias(BREACH_PROBABILITY))


def card_markdown(card: SlaRiskCard) -> str:
    lines = [f"# SLA breach risk model: {card.city}", "",
             f"Trained {card.trained_at} on {card.rows_train:,} requests, calibrated on the next {card.rows_calibration:,}, "
             f"tested on the latest {card.rows_test:,} (temporal split, never seen in fitting).", "",
             f"- AUC (test): **{card.auc_test:.3f}**",
             f"- Brier score (test): {card.brier_test:.4f} (always the base rate: {card.brier_base_rate:.4f})",
             f"- breach rate in the test slice: {card.base_rate_test:.1%}", "",
             "| predicted (decile mean) | observed | requests |", "|---:|---:|---:|"]
    lines += [f"| {r['predicted']:.3f} | {r['observed']:.3f} | {r['requests']:,} |" for r in card.reliability]
    lines += ["", f"Features: {', '.join(card.features)}."]
    return "\n".join(lines) + "\n"
