"""Review rule and calibration figures on data with known answers."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.classification.calibration import (
    CONFIDENCE_FLOOR,
    precision_threshold,
    review_threshold,
)
from models.classification.metrics import reliability
from models.classification.predictions import constrained_top


def test_clean_validation_gets_the_floor_not_the_minimum_confidence() -> None:
    # 200 right answers at 0.99, 2 wrong ones at 0.2 and 0.3: 98% precision holds at every
    # threshold, so the precision rule alone would review nothing.
    confidence = pl.Series([0.99] * 200 + [0.2, 0.3])
    truth = pl.Series(["a"] * 202)
    predicted = pl.Series(["a"] * 200 + ["b", "b"])
    low, coverage, _ = precision_threshold(predicted, confidence, truth, 0.98)
    assert low == 0.2 and coverage == 1.0
    assert review_threshold(predicted, confidence, truth) == CONFIDENCE_FLOOR


def test_noisy_validation_keeps_the_precision_threshold() -> None:
    confidence = pl.Series([0.95] * 100 + [0.7] * 100)
    truth = pl.Series(["a"] * 200)
    predicted = pl.Series(["a"] * 100 + ["a", "b"] * 50)
    assert review_threshold(predicted, confidence, truth) == 0.95
    never = pl.Series(["b"] * 200)
    assert review_threshold(never, confidence, truth) is None


def test_reliability_bins_and_ece() -> None:
    confidence = pl.Series([0.95, 0.95, 0.55, 0.55])
    predicted = pl.Series(["a", "a", "a", "a"])
    truth = pl.Series(["a", "a", "a", "b"])
    result = reliability(predicted, confidence, truth)
    assert result["bins"][9] == pytest.approx(
        {"low": 0.9, "high": 1.0, "rows": 2, "mean_confidence": 0.95, "accuracy": 1.0})
    assert result["bins"][5]["accuracy"] == 0.5
    assert result["ece"] == pytest.approx((2 * 0.05 + 2 * 0.05) / 4)


def test_second_level_only_chooses_children_of_the_predicted_parent() -> None:
    scores = np.array([[5.0, 1.0, 0.0], [5.0, 1.0, 0.0], [0.0, 0.0, 9.0]])
    allowed = np.array([[True, True, False], [False, False, True], [False, False, False]])
    best, confidence = constrained_top(scores, allowed, np.array([0, 1, 2]), 1.0)
    assert best.tolist() == [0, 2, -1]
    assert confidence[1] == pytest.approx(1.0) and np.isnan(confidence[2])
    assert confidence[0] == pytest.approx(np.exp(5) / (np.exp(5) + np.exp(1)))
